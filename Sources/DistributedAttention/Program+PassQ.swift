/// The pass-Q ring prefill of one host (Yang et al., Meta, arXiv 2411.01783; `Docs/PassQRing.md`).
///
/// Per layer: `layerInputs` of the host's shard (its K,V stay here). The host sends its Q block to
/// host `(r+1) mod H` and attends it to its own K,V. Whenever another host's Q block arrives it is
/// forwarded (unless the next host is its owner) and — when any of its queries can see this host's
/// keys — attended to this host's K,V; that partial (output + lse) goes straight back to the block's
/// owner, then the visiting Q and the partial are freed. Once its own attend is done, every visiting
/// block handled, and a partial received from every host whose keys its queries see, the host merges
/// (`merge(parts:)`) and runs `finishLayer`. Blocks whose keys lie entirely in a Q block's causal
/// future are not attended, and no partial travels for them.
struct PassQPrefill: Sendable {
    private enum Stage: Sendable { case idle, embedding, inputs, ringing, merging, finishing, done }

    let plan: RingPlan
    let host: Int
    let shape: ModelShape
    private var cursor: LayerCursor
    private var segment: Segment { cursor.segment }
    private var layer: Int { cursor.layer }
    /// Hosts other than this one whose keys this host's queries see: a partial comes from each.
    private let partialSources: Int
    private var stage = Stage.idle
    private var ownAttend: OpID?
    private var visiting: [OpID: Int] = [:]  // attend of a visiting Q block → its owner
    private var handled = 0  // visiting Q blocks handled at this layer
    private var partialsIn = 0  // partials of this host's Q received at this layer
    private var buffered: [Int: [Int]] = [:]  // layer → owners of Q blocks received early

    init(plan: RingPlan, host: Int, shape: ModelShape) {
        self.plan = plan
        self.host = host
        self.shape = shape
        cursor = LayerCursor(segment: plan.shardSegment(host), layers: shape.layers)
        partialSources = (0..<plan.hosts).filter { $0 != host && plan.visiblePairs(queriesOf: host, keysOf: $0) > 0 }.count
    }

    var isDone: Bool { stage == .done }
    private var next: Int { (host + 1) % plan.hosts }

    private mutating func issue(_ op: Op, _ ids: inout OpCounter) -> Directive { cursor.issue(op, &ids) }

    /// Attend of `owner`'s Q block at the current layer to this host's K,V, or nil when no query of
    /// it sees any of them.
    private func attend(owner: Int) -> Op? {
        let pairs = plan.visiblePairs(queriesOf: owner, keysOf: host)
        guard pairs > 0 else { return nil }
        return .attend(
            layer: layer, queries: plan.shardSegment(owner), keys: plan.keyRuns(onHost: host).stores, visiblePairs: pairs,
            keyTokens: plan.contextTokens(onHost: host))
    }

    mutating func start(_ ids: inout OpCounter) -> [Directive] {
        precondition(stage == .idle, "PassQPrefill started twice")
        stage = .embedding
        return [issue(.embed(segment), &ids)]
    }

    /// Forwards and attends the Q block of `owner` at the current layer.
    private mutating func visit(owner: Int, _ ids: inout OpCounter) -> [Directive] {
        handled += 1
        let queries = plan.shardSegment(owner)
        var out: [Directive] = []
        if next != owner { out.append(.send(to: next, Message(.queries(layer: layer, queries), shape: shape))) }
        if let op = attend(owner: owner) {
            let id = ids.make()
            visiting[id] = owner
            out.append(.compute(id, op))
        } else {
            out.append(.dropQueries(layer: layer, queries))
        }
        return out
    }

    private mutating func checkLayer(_ ids: inout OpCounter) -> [Directive] {
        guard stage == .ringing, ownAttend == nil, visiting.isEmpty, handled == plan.hosts - 1,
              partialsIn == partialSources else { return [] }
        handled = 0
        partialsIn = 0
        if partialSources > 0 {
            stage = .merging
            return [issue(.merge(layer: layer, segment, parts: 1 + partialSources), &ids)]
        }
        stage = .finishing
        return [cursor.finish(&ids)]
    }

    /// Directives following the completion of `id`, or nil when `id` is not this prefill's.
    mutating func completed(_ id: OpID, _ ids: inout OpCounter) -> [Directive]? {
        if let owner = visiting.removeValue(forKey: id) {
            let queries = plan.shardSegment(owner)
            return [.send(to: owner, Message(.partial(layer: layer, queries), shape: shape)),
                    .dropQueries(layer: layer, queries)] + checkLayer(&ids)
        }
        if id == ownAttend {
            ownAttend = nil
            return checkLayer(&ids)
        }
        guard cursor.completes(id) else { return nil }
        switch stage {
        case .embedding:
            stage = .inputs
            return [cursor.inputs(&ids)]
        case .inputs:
            stage = .ringing
            var out: [Directive] = []
            if plan.hosts > 1 { out.append(.send(to: next, Message(.queries(layer: layer, segment), shape: shape))) }
            // A host's first query sees its first key: the own attend always has work.
            let own = ids.make()
            ownAttend = own
            out.append(.compute(own, attend(owner: host)!))
            for owner in buffered.removeValue(forKey: layer) ?? [] { out += visit(owner: owner, &ids) }
            return out + checkLayer(&ids)
        case .merging:
            stage = .finishing
            return [cursor.finish(&ids)]
        case .finishing:
            if let next = cursor.nextLayer(&ids) {
                stage = .inputs
                return [next]
            }
            stage = .done
            return [.dropHidden(segment)]
        case .idle, .ringing, .done:
            preconditionFailure("PassQPrefill host \(host): completion of \(id) in stage \(stage)")
        }
    }

    /// Handles a visiting Q block or a partial of this host's Q; nil for any other message.
    mutating func received(_ message: Message, from: Int, _ ids: inout OpCounter) -> [Directive]? {
        switch message.payload {
        case .queries(let l, let s):
            guard case .shard(let owner) = s.role else { return nil }
            precondition(
                from == (host - 1 + plan.hosts) % plan.hosts && owner != host && l >= layer && stage != .done,
                "PassQPrefill host \(host) at layer \(layer): unexpected \(message) from host \(from)")
            if l == layer && stage == .ringing { return visit(owner: owner, &ids) + checkLayer(&ids) }
            buffered[l, default: []].append(owner)
            return []
        case .partial(let l, let s) where s == segment:
            precondition(l == layer && stage == .ringing, "PassQPrefill host \(host) at layer \(layer): unexpected \(message) from host \(from)")
            partialsIn += 1
            return checkLayer(&ids)
        default:
            return nil
        }
    }
}
