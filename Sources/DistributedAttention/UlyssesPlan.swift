/// DeepSpeed-Ulysses sequence parallelism for inference (Jacobs et al., arXiv 2309.14509;
/// `Docs/Ulysses.md`), and its hierarchical form USP — Ulysses inside groups of hosts × a ring across
/// the groups (Fang & Zhao, arXiv 2405.07719; Megatron-Core `cp_comm_type: a2a+p2p`; `Docs/USP.md`).
///
/// The hosts form `ringDegree` ring groups of `headDegree = hosts/ringDegree` consecutive hosts; host
/// `h` is head group `h mod headDegree` of ring group `h / headDegree`. With one ring group (plain
/// Ulysses) the context is split into `hosts` contiguous shards, as even as possible (the first
/// `contextLength % hosts` one token longer). With more, the context is cut into `2·ringDegree`
/// chunks and ring group `r` takes chunks `r` and `2·ringDegree − 1 − r` (the zigzag of a causal
/// ring), each split into `headDegree` pieces, piece `u` to head group `u`.
///
/// Per layer every host computes Q, K, V of its shard for all heads and sends head group `g` of them
/// (`heads/headDegree` query heads and their KV heads: `kvHeads/headDegree`, or the one they share
/// when `headDegree` exceeds the KV heads — replicated) to head group `g`'s host of its ring group —
/// the first all-to-all. That host holds the group's K,V of its ring group's tokens
/// (store ``KVRef/heads(group:of:chunk:)``); with several ring groups it passes that block around the
/// ring of the hosts of the same head group (pass-KV) and attends each of its ring group's shards'
/// queries to every block it sees, merging the partials (`mergeHeads`). The output slices go back to
/// their owners — the second all-to-all; the owner joins the slices and finishes the layer.
///
/// Decoding runs in the last ring group: its hosts keep the ring's blocks, so each holds its head
/// group's K,V of every token; the query host (`hosts − 1`) computes each new token's Q, K, V, sends
/// every other host of its ring group its head group, and joins the returned slices. Exact.
///
/// The Ulysses degree is bounded by the heads: `headDegree` must divide the model's query heads and
/// divide or be a multiple of its KV heads (beyond the KV heads each KV head is replicated on
/// `headDegree/kvHeads` hosts) — ``check(shape:)``.
public struct UlyssesPlan: Hashable, Sendable {
    public let contextLength: Int
    public let queryLength: Int
    public let hosts: Int
    /// Ring groups (1: plain Ulysses).
    public let ringDegree: Int

    /// - Throws: ``PlanError`` naming the field, its value and what was expected.
    public init(contextLength: Int, queryLength: Int, hosts: Int, ringDegree: Int = 1) throws(PlanError) {
        func fail(_ field: String, _ value: Int, _ expected: String) -> PlanError {
            PlanError(.invalid(owner: "UlyssesPlan", field: field, value: value, expected: expected))
        }
        guard hosts >= 1 else { throw fail("hosts", hosts, "at least 1") }
        guard ringDegree >= 1 && hosts % ringDegree == 0 else {
            throw fail("ringDegree", ringDegree, "a divisor of hosts = \(hosts) (hosts = Ulysses degree × ring degree)")
        }
        guard queryLength >= 1 else {
            throw fail("queryLength", queryLength, "at least 1 token (the query produces the first logits)")
        }
        let pieces = ringDegree == 1 ? hosts : 2 * hosts
        guard contextLength >= pieces else {
            throw fail("contextLength", contextLength, ringDegree == 1
                ? "at least hosts = \(hosts) tokens so that every shard holds a token"
                : "at least 2 × hosts = \(pieces) tokens so that every host's two zigzag pieces hold a token")
        }
        self.contextLength = contextLength
        self.queryLength = queryLength
        self.hosts = hosts
        self.ringDegree = ringDegree
    }

    /// Hosts per ring group: the Ulysses (head-parallel) degree.
    public var headDegree: Int { hosts / ringDegree }
    /// Ring group of host `h`.
    public func ringGroup(_ h: Int) -> Int { h / headDegree }
    /// Head group of host `h`.
    public func headGroup(_ h: Int) -> Int { h % headDegree }
    /// The host of head group `u` in ring group `r`.
    public func host(ringGroup r: Int, headGroup u: Int) -> Int { r * headDegree + u }

    /// Whether `u` hosts can split `shape`'s heads: each takes `heads/u` whole query heads, and
    /// their KV heads whole (`u` divides `kvHeads`) or one shared KV head (`u` a multiple of
    /// `kvHeads`: replicated on `u/kvHeads` hosts).
    public static func isValidDegree(_ u: Int, shape: ModelShape) -> Bool {
        u >= 1 && shape.heads % u == 0 && (shape.kvHeads % u == 0 || u % shape.kvHeads == 0)
    }

    /// Checks the Ulysses degree against the model's heads (``isValidDegree(_:shape:)``).
    /// - Throws: ``PlanError`` naming `hosts` (or `ringDegree` when there is a ring) and the valid degrees.
    public func check(shape: ModelShape) throws(PlanError) {
        let u = headDegree
        guard !Self.isValidDegree(u, shape: shape) else { return }
        let valid = (1...shape.heads).filter { Self.isValidDegree($0, shape: shape) }
        let bound = "each host takes whole query heads (of \(shape.heads)) and whole KV heads (of \(shape.kvHeads)) "
            + "or one shared, replicated KV head"
        if ringDegree == 1 {
            throw PlanError(.invalid(
                owner: "UlyssesPlan", field: "hosts", value: hosts,
                expected: "a Ulysses degree the model's heads allow (\(valid.map(String.init).joined(separator: ", "))): " + bound
                    + " (USP — `usp` — adds a ring across groups of hosts)"))
        }
        let rings = (1...hosts).filter { hosts % $0 == 0 && valid.contains(hosts / $0) }
        throw PlanError(.invalid(
            owner: "UlyssesPlan", field: "ringDegree", value: ringDegree,
            expected: "one leaving a Ulysses degree hosts/ringDegree = \(u) the model's heads allow "
                + "(ring degrees for \(hosts) hosts: \(rings.map(String.init).joined(separator: ", "))): " + bound))
    }

    /// The smallest ring degree for `hosts` hosts whose Ulysses degree divides the model's KV heads
    /// (and heads) — no KV head replicated: `hosts / gcd(hosts, kvHeads)` for Llama shapes. USP's
    /// default.
    public static func smallestRingDegree(hosts: Int, shape: ModelShape) -> Int {
        (1...max(hosts, 1)).first { hosts % $0 == 0 && shape.kvHeads % (hosts / $0) == 0 && shape.heads % (hosts / $0) == 0 } ?? hosts
    }

    /// The host that samples tokens: `hosts − 1`.
    public var queryHost: Int { hosts - 1 }

    /// Context tokens of ring group `r`, in order: everything with one ring group, else zigzag chunks
    /// `r` and `2·ringDegree − 1 − r` of `2·ringDegree`.
    public func ringGroupTokens(_ r: Int) -> [Range<Int>] {
        precondition(r >= 0 && r < ringDegree, "UlyssesPlan: ring group \(r) out of 0..<\(ringDegree)")
        guard ringDegree > 1 else { return [0..<contextLength] }
        let n = 2 * ringDegree
        return [(0..<contextLength).evenPiece(r, of: n), (0..<contextLength).evenPiece(n - 1 - r, of: n)]
    }

    /// Context tokens (and positions) of host `h`'s shard: its head group's piece of each of its ring
    /// group's ranges.
    public func shardRanges(_ h: Int) -> [Range<Int>] {
        precondition(h >= 0 && h < hosts, "UlyssesPlan: host \(h) out of 0..<\(hosts)")
        return ringGroupTokens(ringGroup(h)).map { $0.evenPiece(headGroup(h), of: headDegree) }
    }

    /// Context tokens of host `h`'s shard.
    public func shardTokenCount(_ h: Int) -> Int { shardRanges(h).reduce(0) { $0 + $1.count } }

    /// The store of head group `u`'s K,V of ring group `r`'s tokens (on host `(r, u)`; the last ring
    /// group's also takes the query's and generated tokens').
    public func store(headGroup u: Int, ringGroup r: Int) -> KVRef { .heads(group: u, of: headDegree, chunk: r) }

    /// Host `h`'s own store.
    public func store(_ h: Int) -> KVRef { store(headGroup: headGroup(h), ringGroup: ringGroup(h)) }

    /// Key runs (positions = token indices) of ring group `r`'s context block.
    public func blockRuns(_ r: Int) -> [TokenRun] {
        ringGroupTokens(r).map { TokenRun(tokens: $0, firstPosition: Int32($0.lowerBound), kv: store(headGroup: 0, ringGroup: r)) }
    }

    /// Context tokens of ring group `r`.
    public func blockTokens(_ r: Int) -> Int { ringGroupTokens(r).reduce(0) { $0 + $1.count } }

    /// The segment host `h` encodes: its shard, whose K,V of its head group stay on it.
    public func shardSegment(_ h: Int) -> Segment {
        Segment(role: .shard(host: h), runs: shardRanges(h).map {
            TokenRun(tokens: $0, firstPosition: Int32($0.lowerBound), kv: store(h))
        })
    }

    /// The query segment, on the query host; its K,V of each head group go to that group's host.
    public var querySegment: Segment {
        Segment(role: .query, runs: [TokenRun(tokens: contextLength..<(contextLength + queryLength),
                                              firstPosition: Int32(contextLength), kv: store(queryHost))])
    }

    /// Generated token `n`.
    public func generatedSegment(_ n: Int) -> Segment {
        let t = contextLength + queryLength + n
        return Segment(role: .generated(n), runs: [TokenRun(tokens: t..<(t + 1), firstPosition: Int32(t), kv: store(queryHost))])
    }

    /// Context tokens whose K,V (one head group of ``headDegree``, every layer) host `h` holds after
    /// prefill: its ring group's block, or every token in the last ring group (which decodes).
    public func contextKVTokens(host h: Int) -> Int {
        ringGroup(h) == ringDegree - 1 ? contextLength : blockTokens(ringGroup(h))
    }

    /// One program per host, index = host.
    public func programs(shape: ModelShape, granularity: Granularity = .perLayer) -> [UlyssesHostProgram] {
        (0..<hosts).map { UlyssesHostProgram(plan: self, host: $0, shape: shape) }
    }

    /// Bytes each host sends, by phase, for a run that samples `sampledTokens` (≥ 1) tokens, with
    /// `U` = ``headDegree``, `R` = ``ringDegree``, `C_r` the tokens of ring group `r`:
    /// - prefill, host `h` of ring group `r` with `n_h` shard tokens, per layer: its shard's Q,K,V of
    ///   every other head group (`n_h · (heads/U + 2·k_U) · headDim · e` to each of `U − 1`
    ///   hosts, `k_U = max(1, kvHeads/U)` KV heads per group), every other shard of its ring group's output slice of its heads
    ///   (`(C_r − n_h) · heads/U · headDim · e`), and the ring: every block but the next ring group's,
    ///   `(L − C_{r+1 mod R}) · 2·k_U · headDim · e` (nothing when `R = 1`);
    /// - query and generation, in the last ring group: the query host sends each segment's Q,K,V
    ///   head groups to the `U − 1` others and each of them returns the segment's output slice, per
    ///   layer; plus 4 bytes per sampled token from the query host to each of them.
    public func analyticTraffic(shape: ModelShape, sampledTokens: Int) -> TrafficTable {
        precondition(sampledTokens >= 1, "analyticTraffic: sampledTokens must be at least 1")
        var t = TrafficTable(hosts: hosts)
        let u = headDegree
        let inputs = shape.headInputBytesPerTokenPerLayer(groups: u)
        let output = shape.headOutputBytesPerTokenPerLayer(groups: u)
        let kv = shape.kvBytesPerTokenPerLayer(in: store(0))
        for h in 0..<hosts {
            let r = ringGroup(h), n = shardTokenCount(h)
            let ring = ringDegree == 1 ? 0 : (contextLength - blockTokens((r + 1) % ringDegree)) * kv
            t[h, .contextEncoding] = shape.layers * ((u - 1) * n * inputs + (blockTokens(r) - n) * output + ring)
        }
        guard u > 1 else { return t }
        let decoders = (0..<u).map { host(ringGroup: ringDegree - 1, headGroup: $0) }
        for (phase, tokens) in [(Phase.queryEncoding, queryLength), (.generation, sampledTokens - 1)] {
            for h in decoders {
                t[h, phase] += shape.layers * tokens * (h == queryHost ? (u - 1) * inputs : output)
            }
        }
        t[queryHost, .generation] += (u - 1) * sampledTokens * ModelShape.tokenIDBytes
        return t
    }
}
