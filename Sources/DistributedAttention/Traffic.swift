/// Bytes sent, per sending host and per ``Phase``.
public struct TrafficTable: Hashable, Sendable, CustomStringConvertible {
    public let hosts: Int
    private var bytes: [Int]  // [host * phases + phase]

    public init(hosts: Int) {
        self.hosts = hosts
        bytes = Array(repeating: 0, count: hosts * Phase.allCases.count)
    }

    /// Bytes sent by `host` in `phase`.
    public subscript(host: Int, phase: Phase) -> Int {
        get { bytes[host * Phase.allCases.count + phase.rawValue] }
        set { bytes[host * Phase.allCases.count + phase.rawValue] = newValue }
    }

    /// Bytes sent by `host` in every phase.
    public func total(host: Int) -> Int { Phase.allCases.reduce(0) { $0 + self[host, $1] } }
    /// Bytes sent by every host in `phase`.
    public func total(phase: Phase) -> Int { (0..<hosts).reduce(0) { $0 + self[$1, phase] } }
    /// All bytes.
    public var total: Int { bytes.reduce(0, +) }

    public var description: String {
        (0..<hosts).map { h in
            "host\(h): " + Phase.allCases.map { "\($0) \(self[h, $0])B" }.joined(separator: ", ")
        }.joined(separator: "\n")
    }
}

/// Closed-form phase-2 traffic, shared by Star and Ring (`.phase2`).
enum PhaseTwoTraffic {
    /// Adds phase-2 bytes for `participants` hosts (`0..<participants`) to `table`.
    /// `sampledTokens` = samples taken, the last one with stop: the query plus `sampledTokens − 1`
    /// generated tokens go through every layer.
    static func add(
        to table: inout TrafficTable, participants h: Int, queryHost: Int, queryLength q: Int, pattern: Phase2Pattern,
        shape: ModelShape, sampledTokens n: Int
    ) {
        guard h > 1 else { return }
        let others = h - 1
        let tree = Phase2Tree(participants: Array(0..<h), root: queryHost)
        for host in 0..<h {
            for (phase, tokens) in [(Phase.queryEncoding, q), (.generation, n - 1)] {
                let perLayer: Int
                switch pattern {
                case .gatherBroadcast:
                    perLayer = host == queryHost ? others * tokens * shape.mergedBytesPerToken : tokens * shape.partialBytesPerToken
                case .allGather:
                    perLayer = others * tokens * shape.partialBytesPerToken
                case .tree:
                    // One partial up to the parent (not the root), one merged vector down to each child.
                    perLayer = (host == queryHost ? 0 : tokens * shape.partialBytesPerToken)
                        + tree.children(of: host).count * tokens * shape.mergedBytesPerToken
                }
                table[host, phase] += shape.layers * perLayer
            }
            if host == queryHost {
                table[host, .queryEncoding] += others * q * ModelShape.tokenIDBytes
                table[host, .generation] += others * n * ModelShape.tokenIDBytes
            }
        }
    }
}

extension StarPlan {
    /// Bytes each host sends, by phase, for a run that samples `sampledTokens` (≥ 1) tokens, the
    /// last with stop. Counted exactly as the programs send:
    /// - phase 1: nothing;
    /// - query: the query host sends `queryLength · 4` bytes of token ids to each other host; per
    ///   layer, per query token: gather–broadcast — every other host sends one partial
    ///   (`heads·headDim·bytes + heads·4`) to the query host, which sends one merged vector
    ///   (`heads·headDim·bytes`) to each other host; all-gather — every host sends its partial to each
    ///   other host;
    /// - generation: the same per generated token (`sampledTokens − 1` of them), plus 4 bytes per
    ///   sampled token from the query host to each other host.
    public func analyticTraffic(shape: ModelShape, sampledTokens: Int) -> TrafficTable {
        precondition(sampledTokens >= 1, "analyticTraffic: sampledTokens must be at least 1")
        var t = TrafficTable(hosts: hosts)
        PhaseTwoTraffic.add(
            to: &t, participants: hosts, queryHost: queryHost, queryLength: queryLength, pattern: phase2,
            shape: shape, sampledTokens: sampledTokens)
        return t
    }
}

extension RingPlan {
    /// Bytes each host sends, by phase, for a run that samples `sampledTokens` (≥ 1) tokens.
    /// - prefill: per layer, host `r` sends at steps `0..<hosts−1` the K,V of the block of host
    ///   `(r − step) mod hosts` (`tokens · 2·kvHeads·headDim·bytes`); with equal blocks of `b` tokens
    ///   that is `(hosts−1) · layers · 2·b·kvHeads·headDim·bytes` per host;
    ///   the all-gather exchange moves the same blocks the same way (a ring all-gather); pass-Q sends
    ///   the same hops with Q blocks (`tokens · heads·headDim·bytes`) and, per layer, one partial
    ///   (`tokens · (heads·headDim·bytes + heads·4)`) back to each other host whose Q block saw any
    ///   of its keys;
    /// - `.phase2` decode: as ``StarPlan/analyticTraffic(shape:sampledTokens:)`` with query host `hosts − 1`;
    /// - `.lastHost` decode: nothing.
    public func analyticTraffic(shape: ModelShape, sampledTokens: Int) -> TrafficTable {
        precondition(sampledTokens >= 1, "analyticTraffic: sampledTokens must be at least 1")
        var t = TrafficTable(hosts: hosts)
        // The all-gather exchange moves the same blocks over the same ring (NCCL's ring all-gather);
        // pass-Q moves Q blocks along the same path and returns one partial per visible (Q, K) pair of hosts.
        // A K,V block holds the host's cached and new tokens; a Q block only its new tokens.
        for r in 0..<hosts {
            for step in 0..<(hosts - 1) {
                let o = origin(host: r, step: step)
                t[r, .contextEncoding] += shape.layers * (exchange == .passQ
                    ? newTokens(onHost: o) * shape.queryBytesPerTokenPerLayer
                    : contextTokens(onHost: o) * shape.kvBytesPerTokenPerLayer)
            }
            guard exchange == .passQ else { continue }
            for owner in 0..<hosts where owner != r && visiblePairs(queriesOf: owner, keysOf: r) > 0 {
                t[r, .contextEncoding] += shape.layers * newTokens(onHost: owner) * shape.partialBytesPerToken
            }
        }
        if decode == .phase2 {
            PhaseTwoTraffic.add(
                to: &t, participants: hosts, queryHost: queryHost, queryLength: queryLength, pattern: phase2,
                shape: shape, sampledTokens: sampledTokens)
        }
        return t
    }
}
