/// The APB prefill of one host (``APBPlan``, `Docs/APB.md`): per layer `layerInputs` of
/// `[anchor ; block]`; then — every host but the last — `compress` of the block into its passing
/// block, sent to every later host and dropped here; then, once the passing blocks of all earlier
/// hosts are here, one `attend` to anchor + passing blocks + own block, the anchor and the passing
/// blocks dropped, and `finishLayer`.
struct APBPrefill: Sendable {
    private enum Stage: Sendable { case idle, embedding, inputs, compressing, awaiting, attending, finishing, done }

    let plan: APBPlan
    let host: Int
    let shape: ModelShape
    private var cursor: LayerCursor
    private var segment: Segment { cursor.segment }
    private var layer: Int { cursor.layer }
    private var stage = Stage.idle
    /// Layer → passing blocks of earlier hosts received.
    private var passed: [Int: Int] = [:]

    init(plan: APBPlan, host: Int, shape: ModelShape) {
        self.plan = plan
        self.host = host
        self.shape = shape
        cursor = LayerCursor(segment: plan.segment(host), layers: shape.layers)
    }

    var isDone: Bool { stage == .done }
    private var anchor: KVRef? { plan.star.anchorRun(host)?.kv }
    private var block: KVRef { .block(host) }
    private var passes: Bool { host < plan.hosts - 1 }

    private mutating func issue(_ op: Op, _ ids: inout OpCounter) -> Directive { cursor.issue(op, &ids) }

    mutating func start(_ ids: inout OpCounter) -> [Directive] {
        precondition(stage == .idle, "APBPrefill started twice")
        stage = .embedding
        return [issue(.embed(segment), &ids)]
    }

    /// The attend once every earlier host's passing block of this layer is here.
    private mutating func attendIfReady(_ ids: inout OpCounter) -> [Directive] {
        guard stage == .awaiting, passed[layer, default: 0] == host else { return [] }
        passed[layer] = nil
        stage = .attending
        let keys = (anchor.map { [$0] } ?? []) + (0..<host).map { plan.passingStore($0) } + [block]
        return [issue(.attend(layer: layer, queries: segment, keys: keys, visiblePairs: plan.visiblePairs(host: host),
                              keyTokens: plan.keyTokens(host: host)), &ids)]
    }

    /// Directives following the completion of `id`, or nil when `id` is not this prefill's.
    mutating func completed(_ id: OpID, _ ids: inout OpCounter) -> [Directive]? {
        guard cursor.completes(id) else { return nil }
        switch stage {
        case .embedding:
            stage = .inputs
            return [cursor.inputs(&ids)]
        case .inputs:
            if passes {
                stage = .compressing
                return [issue(.compress(layer: layer, segment, into: plan.passingStore(host), keep: plan.passingSize,
                                        candidates: plan.candidates(host), selection: plan.selection, window: plan.window), &ids)]
            }
            stage = .awaiting
            return attendIfReady(&ids)
        case .compressing:
            let tokens = plan.passingSize
            let message = Message(.kv(layer: layer, origin: host, blocks: [plan.passingStore(host)], tokens: tokens), shape: shape)
            var out: [Directive] = ((host + 1)..<plan.hosts).map { .send(to: $0, message) }
            out.append(.dropKV(layer: layer, plan.passingStore(host)))
            stage = .awaiting
            return out + attendIfReady(&ids)
        case .attending:
            var out: [Directive] = anchor.map { [.dropKV(layer: layer, $0)] } ?? []
            out += (0..<host).map { .dropKV(layer: layer, plan.passingStore($0)) }
            stage = .finishing
            return out + [cursor.finish(&ids)]
        case .finishing:
            if let next = cursor.nextLayer(&ids) {
                stage = .inputs
                return [next]
            }
            stage = .done
            return [.dropHidden(segment)]
        case .idle, .awaiting, .done:
            preconditionFailure("APBPrefill host \(host): completion of \(id) in stage \(stage)")
        }
    }

    /// Handles an earlier host's passing block; nil for any other message.
    mutating func received(_ message: Message, from: Int, _ ids: inout OpCounter) -> [Directive]? {
        guard case .kv(let l, let origin, _, _) = message.payload else { return nil }
        precondition(origin == from && from < host && l >= layer && stage != .done,
                     "APBPrefill host \(host) at layer \(layer): unexpected \(message) from host \(from)")
        passed[l, default: 0] += 1
        return l == layer ? attendIfReady(&ids) : []
    }
}

/// APB on one host: the APB prefill, then Star's phase 2 on its block.
public struct APBHostProgram: HostProgram {
    public let plan: APBPlan
    public let host: Int
    public let shape: ModelShape
    private var core: ProgramCore

    public init(plan: APBPlan, host: Int, shape: ModelShape) {
        precondition(host >= 0 && host < plan.hosts, "APBHostProgram: host \(host) out of 0..<\(plan.hosts)")
        self.plan = plan
        self.host = host
        self.shape = shape
        let decoder = Phase2Engine(
            host: host, participants: Array(0..<plan.hosts), queryHost: plan.queryHost, pattern: plan.star.phase2,
            shape: shape, coarse: false, contextLength: plan.contextLength, queryLength: plan.queryLength,
            localRuns: [plan.star.blockRun(host)])
        core = ProgramCore(host: host, prefill: .apb(APBPrefill(plan: plan, host: host, shape: shape)), decoder: decoder)
    }

    public var isFinished: Bool { core.finished }

    public mutating func handle(_ event: HostEvent) -> [Directive] { core.handle(event) }
}
