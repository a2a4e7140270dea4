import DistributedAttention

/// The method names users type everywhere — a scenario's `methods:`, `--methods` of `eval`,
/// `project` and `plan`, sweep files and the paper's scenarios: one list, one parser.
public enum MethodKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// Exact causal attention on one host (the reference).
    case global
    /// Star Attention with the paper's anchor: the first `anchor` tokens of block 0.
    case star
    /// Star Attention without anchor (each block encoded alone) — the paper's ablation.
    case starNoAnchor = "star-noanchor"
    /// Star Attention whose anchor is the end of the previous block — the paper's ablation.
    case starPrevious = "star-prev"
    /// Ring Attention, contiguous blocks (exact).
    case ring
    /// Ring Attention with the zigzag partition (exact).
    case ringZigzag = "ring-zigzag"
    /// Striped Attention: Ring Attention with token `t` on host `t mod hosts` (exact).
    case ringStriped = "ring-striped"
    /// Pass-Q ring, contiguous shards: Q blocks travel, K,V stay (exact; `Docs/PassQRing.md`).
    case ringPassQ = "ring-passq"
    /// Pass-Q ring with the zigzag partition (Meta's load-balanced sharding; exact).
    case ringZigzagPassQ = "ring-zigzag-passq"
    /// Pass-Q ring with the striped partition (exact).
    case ringStripedPassQ = "ring-striped-passq"
    /// DeepSpeed-Ulysses: all-to-all from sequence to head shards and back (exact; hosts must divide
    /// the model's heads and divide or be a multiple of its KV heads, which are then replicated;
    /// `Docs/Ulysses.md`).
    case ulysses
    /// USP: Ulysses inside groups of hosts × a ring across the groups (exact; `ring-degree` defaults
    /// to the smallest that leaves a Ulysses degree dividing the KV heads; `Docs/USP.md`).
    case usp
    /// APB: Star-like blocks with a smaller anchor plus passing blocks chosen training-free
    /// (approximate; `Docs/APB.md`).
    case apb
    /// All-gather context parallelism, contiguous shards (exact; `Docs/AllGatherCP.md`).
    case allGather = "allgather"
    /// All-gather context parallelism, zigzag shards (SGLang's zigzag prefill CP; exact).
    case allGatherZigzag = "allgather-zigzag"
    /// All-gather context parallelism, interleaved (round-robin) shards: token `t` on host `t mod H` (exact).
    case allGatherStriped = "allgather-striped"

    /// The methods projections sweep by default (the ablations are for accuracy runs).
    public static let standard: [MethodKind] = [.global, .star, .ring, .ringZigzag]

    public var isStar: Bool { self == .star || self == .starNoAnchor || self == .starPrevious }
    /// Ring Attention or all-gather CP: the context sharded over hosts, K,V exchanged every layer.
    public var isRing: Bool {
        switch self {
        case .ring, .ringZigzag, .ringStriped, .ringPassQ, .ringZigzagPassQ, .ringStripedPassQ, .allGather, .allGatherZigzag, .allGatherStriped: return true
        case .global, .star, .starNoAnchor, .starPrevious, .ulysses, .usp, .apb: return false
        }
    }

    /// Parses a method name (case and surrounding spaces ignored).
    /// - Throws: ``StarSimError`` naming `field` and listing the known names.
    public static func parse(_ text: String, field: String = "methods") throws(StarSimError) -> MethodKind {
        guard let m = MethodKind(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw .invalid(field, text, "one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return m
    }
}

/// A method on a cluster with its options — the one vocabulary that scenarios, evaluation runs and
/// projections build their plans from, through the one plan builder ``plan(contextLength:queryLength:hosts:field:defaultBlock:)``.
public enum MethodSpec: Sendable, Hashable {
    case global
    case star(StarOptions)
    case ring(RingOptions)
    case ulysses(UlyssesOptions)
    case apb(APBOptions)

    /// Ulysses' and USP's options (`UlyssesPlan`).
    public struct UlyssesOptions: Sendable, Hashable {
        /// Ring groups: 1 = plain Ulysses; nil = the smallest whose Ulysses degree divides the
        /// model's KV heads (``UlyssesPlan/smallestRingDegree(hosts:shape:)``).
        public var ringDegree: Int?
        public init(ringDegree: Int?) { self.ringDegree = ringDegree }
    }

    /// APB's options (`APBPlan`); nil = the plan's defaults (anchor = block/4, passing = block/8).
    public struct APBOptions: Sendable, Hashable {
        public var anchorSize: Int?
        public var passingSize: Int?
        public var selection: APBPlan.PassingSelection = .snapKV
        public var window = 32
        public var phase2: Phase2Pattern = .gatherBroadcast
        public init() {}
    }

    /// Star's options; the types are the algorithm's own (`StarPlan.AnchorSource`, `Phase2Pattern`).
    public struct StarOptions: Sendable, Hashable {
        /// Tokens per context block; nil = the caller's default block rule.
        public var blockSize: Int?
        /// Anchor tokens; nil = same as the block size; 0 = no anchor.
        public var anchorSize: Int?
        public var anchorSource: StarPlan.AnchorSource = .firstBlock
        /// nil = the host holding the last block.
        public var queryHost: Int?
        public var phase2: Phase2Pattern = .gatherBroadcast
        public init() {}
    }

    /// Ring's options (`RingPlan.Partition`, `RingPlan.Decode`).
    public struct RingOptions: Sendable, Hashable {
        public var partition: RingPlan.Partition = .contiguous
        public var decode: RingPlan.Decode = .phase2
        /// How `.phase2` decoding combines partials.
        public var phase2: Phase2Pattern = .gatherBroadcast
        /// `ring` (Ring Attention, pass-KV), `all-gather` (all-gather CP) or `pass-q` (pass-Q ring).
        public var exchange: RingPlan.Exchange = .ring
        /// Leading context tokens whose K,V the hosts hold from an earlier turn (``RingPlan/cachedLength``).
        public var cachedLength = 0
        public init() {}
    }

    /// The spec a name stands for, with Star's block and anchor when given.
    public init(kind: MethodKind, blockSize: Int? = nil, anchorSize: Int? = nil, phase2: Phase2Pattern = .gatherBroadcast) {
        switch kind {
        case .global:
            self = .global
        case .ulysses:
            self = .ulysses(UlyssesOptions(ringDegree: 1))
        case .usp:
            self = .ulysses(UlyssesOptions(ringDegree: nil))
        case .apb:
            var o = APBOptions()
            o.anchorSize = anchorSize
            o.phase2 = phase2
            self = .apb(o)
        case .star, .starNoAnchor, .starPrevious:
            var o = StarOptions()
            o.blockSize = blockSize
            o.anchorSize = kind == .starNoAnchor ? 0 : anchorSize
            o.anchorSource = kind == .starPrevious ? .previousBlock : .firstBlock
            o.phase2 = phase2
            self = .star(o)
        case .ring, .ringZigzag, .ringStriped, .ringPassQ, .ringZigzagPassQ, .ringStripedPassQ, .allGather, .allGatherZigzag, .allGatherStriped:
            var o = RingOptions()
            switch kind {
            case .ringZigzag, .ringZigzagPassQ, .allGatherZigzag: o.partition = .zigzag
            case .ringStriped, .ringStripedPassQ, .allGatherStriped: o.partition = .striped
            default: o.partition = .contiguous
            }
            switch kind {
            case .allGather, .allGatherZigzag, .allGatherStriped: o.exchange = .allGather
            case .ringPassQ, .ringZigzagPassQ, .ringStripedPassQ: o.exchange = .passQ
            default: o.exchange = .ring
            }
            o.phase2 = phase2
            self = .ring(o)
        }
    }

    /// Display name in reports: the method's name (`global`, `star`, `ring-zigzag-passq`, `ulysses`,
    /// `usp` — `usp-r2` with an explicit ring degree —, `apb`; `apb-recent` with the recent selection), with `+all-gather` or `+tree` when phase 2 does
    /// not gather at the query host (so two variants in one scenario differ).
    public var name: String {
        switch self {
        case .global: return "global"
        case .ulysses(let o):
            guard let r = o.ringDegree else { return "usp" }
            return r == 1 ? "ulysses" : "usp-r\(r)"
        case .apb(let o):
            return "apb" + (o.selection == .snapKV ? "" : "-\(o.selection.rawValue)") + (o.phase2 == .gatherBroadcast ? "" : "+\(o.phase2.rawValue)")
        case .star(let o): return "star" + (o.phase2 == .gatherBroadcast ? "" : "+\(o.phase2.rawValue)")
        case .ring(let o):
            return (o.exchange == .allGather ? "allgather" : "ring")
                + (o.partition == .zigzag ? "-zigzag" : o.partition == .striped ? "-striped" : "")
                + (o.exchange == .passQ ? "-passq" : "")
                + (o.phase2 == .gatherBroadcast || o.decode != .phase2 ? "" : "+\(o.phase2.rawValue)")
        }
    }

    /// The scenario rule for Star's block: the context split evenly over the hosts, `⌈L/H⌉`.
    public static func evenBlock(contextLength: Int, hosts: Int) -> Int { (contextLength + hosts - 1) / max(hosts, 1) }

    /// The algorithm plan for this method on `hosts` hosts and a prompt of `contextLength` +
    /// `queryLength` tokens — the one plan builder of scenarios, evaluation and projections.
    /// Defaults: Star's block = `defaultBlock(L, H)`, anchor = block; the query host is the host of
    /// the last block; USP's ring degree the smallest that `shape`'s KV heads allow (every host its own
    /// ring group when no shape is given).
    ///
    /// - Throws: the algorithms' `PlanError`, naming the plan's parameter.
    public func plan(
        contextLength: Int, queryLength: Int, hosts: Int, shape: ModelShape? = nil,
        defaultBlock: (_ contextLength: Int, _ hosts: Int) -> Int = MethodSpec.evenBlock
    ) throws -> AttentionMethod {
        switch self {
        case .global:
            return .global(try GlobalPlan(contextLength: contextLength, queryLength: queryLength))
        case .ulysses(let o):
            let ring = o.ringDegree ?? shape.map { UlyssesPlan.smallestRingDegree(hosts: hosts, shape: $0) } ?? hosts
            return .ulysses(try UlyssesPlan(contextLength: contextLength, queryLength: queryLength, hosts: hosts, ringDegree: ring))
        case .apb(let o):
            return .apb(try APBPlan(contextLength: contextLength, queryLength: queryLength, hosts: hosts, anchorSize: o.anchorSize,
                                    passingSize: o.passingSize, selection: o.selection, window: o.window, phase2: o.phase2))
        case .star(let o):
            let block = o.blockSize ?? defaultBlock(contextLength, hosts)
            let anchor = o.anchorSize ?? block
            return .star(try StarPlan(
                contextLength: contextLength, queryLength: queryLength, blockSize: block, anchorSize: anchor,
                anchorSource: o.anchorSource, hosts: hosts, queryHost: o.queryHost, phase2: o.phase2))
        case .ring(let o):
            return .ring(try RingPlan(contextLength: contextLength, queryLength: queryLength, hosts: hosts,
                                      partition: o.partition, decode: o.decode, phase2: o.phase2, exchange: o.exchange,
                                      cachedLength: o.cachedLength))
        }
    }

    /// ``plan(contextLength:queryLength:hosts:defaultBlock:)`` for a scenario method: errors name the
    /// scenario field (`methods[1].star.block`, `cluster.hosts`, …).
    ///
    /// - Parameters:
    ///   - field: how the method is named in messages, e.g. `methods[1]`.
    ///   - shape: the model the plan will run, when known: the plan is checked against it (Ulysses'
    ///     degree against the KV heads) before anything runs.
    public func plan(contextLength: Int, queryLength: Int, hosts: Int, field: String,
                     shape: ModelShape? = nil) throws(StarSimError) -> AttentionMethod {
        if case .star(let o) = self, let q = o.queryHost, q >= hosts {
            throw StarSimError.invalid("\(field).star.query_host", "host \(q) does not exist; the cluster has hosts 0...\(hosts - 1)")
        }
        do {
            let method = try plan(contextLength: contextLength, queryLength: queryLength, hosts: hosts, shape: shape)
            if let shape { try method.check(shape: shape) }
            return method
        } catch let error as PlanError {
            let names = ["blockSize": "block", "anchorSize": "anchor", "queryHost": "query_host",
                         "hosts": "cluster.hosts", "contextLength": "prompt (context tokens)",
                         "queryLength": "prompt (query tokens)", "decode": "decode", "cachedLength": "cached",
                         "passingSize": "passing", "window": "window", "ringDegree": "ring-degree"]
            let key = error.field.split(separator: ".").last.map(String.init) ?? error.field
            // The option's path as written: `methods[i].usp.ring-degree` (the name `usp-r3` is not a key).
            let written: String
            if case .ulysses = self { written = "usp" } else { written = name }
            let scenarioField = names[key].map { $0.hasPrefix("cluster") || $0.hasPrefix("prompt") ? $0 : "\(field).\(written).\($0)" } ?? field
            throw StarSimError.invalid(scenarioField, error.description)
        } catch {
            throw StarSimError.failed("\(field): \(error)")
        }
    }
}
