/// Star Attention on one host (Acharya et al., ICML 2025, arXiv 2411.17116).
///
/// Phase 1: each block this host holds is encoded separately, layer by layer, as
/// `[anchor ; block]` (or alone for block 0 / no anchor) with local causal attention by position;
/// the anchor's KV is dropped after each layer's attend. No communication.
/// Phase 2: the query host sends the query tokens to every host at start; every host processes the
/// query, then each generated token, attending to its local KV (the query host also to the
/// appended KV); partials are combined per layer by the plan's ``Phase2Pattern``. The query host
/// computes logits, samples and sends each token to every host.
public struct StarHostProgram: HostProgram {
    public let plan: StarPlan
    public let host: Int
    public let shape: ModelShape
    public let granularity: Granularity
    private var core: ProgramCore

    public init(plan: StarPlan, host: Int, shape: ModelShape, granularity: Granularity = .perLayer) {
        precondition(host >= 0 && host < plan.hosts, "StarHostProgram: host \(host) out of 0..<\(plan.hosts)")
        self.plan = plan
        self.host = host
        self.shape = shape
        self.granularity = granularity
        let jobs = plan.blocks(onHost: host).map { i -> LocalEncoder.Job in
            let seg = plan.encodingSegment(i)
            return LocalEncoder.Job(
                segment: seg, keys: seg.runs.stores, keyRuns: seg.runs, dropAnchor: plan.anchorRun(i)?.kv)
        }
        let coarse = granularity == .coarse
        let decoder = Phase2Engine(
            host: host, participants: Array(0..<plan.hosts), queryHost: plan.queryHost, pattern: plan.phase2,
            shape: shape, coarse: coarse, contextLength: plan.contextLength, queryLength: plan.queryLength,
            localRuns: plan.blocks(onHost: host).map { plan.blockRun($0) })
        core = ProgramCore(
            host: host, prefill: .local(LocalEncoder(jobs: jobs, layers: shape.layers, coarse: coarse)),
            decoder: decoder)
    }

    public var isFinished: Bool { core.finished }

    public mutating func handle(_ event: HostEvent) -> [Directive] { core.handle(event) }
}

/// Ring Attention on one host: ring prefill of the context, then decoding as ``RingPlan/Decode`` says.
public struct RingHostProgram: HostProgram {
    public let plan: RingPlan
    public let host: Int
    public let shape: ModelShape
    public let granularity: Granularity
    private var core: ProgramCore

    public init(plan: RingPlan, host: Int, shape: ModelShape, granularity: Granularity = .perLayer) {
        precondition(host >= 0 && host < plan.hosts, "RingHostProgram: host \(host) out of 0..<\(plan.hosts)")
        self.plan = plan
        self.host = host
        self.shape = shape
        self.granularity = granularity
        let coarse = granularity == .coarse
        let decoder: Phase2Engine?
        switch plan.decode {
        case .phase2:
            decoder = Phase2Engine(
                host: host, participants: Array(0..<plan.hosts), queryHost: plan.queryHost, pattern: plan.phase2,
                shape: shape, coarse: coarse, contextLength: plan.contextLength, queryLength: plan.queryLength,
                localRuns: plan.keyRuns(onHost: host))
        case .lastHost where host == plan.queryHost:
            let all = (0..<plan.hosts).flatMap { plan.keyRuns(onHost: $0) }.sorted { $0.tokens.lowerBound < $1.tokens.lowerBound }
            decoder = Phase2Engine(
                host: host, participants: [host], queryHost: host, pattern: plan.phase2, shape: shape, coarse: coarse,
                contextLength: plan.contextLength, queryLength: plan.queryLength, localRuns: all)
        case .lastHost:
            decoder = nil
        }
        let keep = plan.decode == .lastHost && host == plan.queryHost
        // With one host every exchange is the same local prefill.
        let prefill: Prefill = plan.exchange == .passQ && plan.hosts > 1
            ? .passQ(PassQPrefill(plan: plan, host: host, shape: shape))
            : .ring(RingPrefill(plan: plan, host: host, shape: shape, coarse: coarse, keepReceived: keep))
        core = ProgramCore(host: host, prefill: prefill, decoder: decoder)
    }

    public var isFinished: Bool { core.finished }

    public mutating func handle(_ event: HostEvent) -> [Directive] { core.handle(event) }
}

/// Exact global attention on a single host (host 0): context prefill, query, generation.
/// Its op sequence is exactly Star's with one block on one host.
public struct GlobalHostProgram: HostProgram {
    public let plan: GlobalPlan
    public let shape: ModelShape
    public let granularity: Granularity
    private var core: ProgramCore

    public init(plan: GlobalPlan, shape: ModelShape, granularity: Granularity = .perLayer) {
        self.plan = plan
        self.shape = shape
        self.granularity = granularity
        let context = plan.contextSegment
        let coarse = granularity == .coarse
        let job = LocalEncoder.Job(segment: context, keys: [.block(0)], keyRuns: context.runs, dropAnchor: nil)
        let decoder = Phase2Engine(
            host: 0, participants: [0], queryHost: 0, pattern: .gatherBroadcast, shape: shape, coarse: coarse,
            contextLength: plan.contextLength, queryLength: plan.queryLength, localRuns: context.runs)
        core = ProgramCore(
            host: 0, prefill: .local(LocalEncoder(jobs: [job], layers: shape.layers, coarse: coarse)), decoder: decoder)
    }

    public var host: Int { 0 }
    public var isFinished: Bool { core.finished }

    public mutating func handle(_ event: HostEvent) -> [Directive] { core.handle(event) }
}
