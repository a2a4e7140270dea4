/// The ring prefill of one host (Liu et al., Ring Attention, arXiv 2310.01889; causal zigzag as in
/// ring-flash-attention).
///
/// Per layer: `layerInputs` of the host's shard; then `hosts − 1` ring steps. At step 0 the host
/// sends its own K,V to host `(r+1) mod H` while attending its queries to it; whenever a block
/// arrives it is forwarded to the next host (unless the next host is its origin) while the host
/// attends to it. Blocks entirely in the host's causal future (0 visible pairs) are forwarded but
/// not attended. The partials are merged once at the end of the layer (`merge(parts:)`, the
/// online-softmax fold), then `finishLayer`.
struct RingPrefill: Sendable {
    private enum Stage: Sendable { case idle, embedding, inputs, ringing, merging, finishing, encoding, done }

    let plan: RingPlan
    let host: Int
    let shape: ModelShape
    let coarse: Bool
    /// Keep received blocks (the `.lastHost` decoder) instead of dropping them after use.
    let keepReceived: Bool
    private var cursor: LayerCursor
    private var segment: Segment { cursor.segment }
    private var layer: Int { cursor.layer }
    private var stage = Stage.idle
    private var outstanding: [OpID: Int] = [:]  // attend op → origin host
    private var attends = 0
    private var received = 0
    private var buffered: [Int: [Int]] = [:]  // layer → origins received early
    private var gathered: [Int] = []  // all-gather: origins of this layer's blocks here so far

    init(plan: RingPlan, host: Int, shape: ModelShape, coarse: Bool, keepReceived: Bool) {
        self.plan = plan
        self.host = host
        self.shape = shape
        self.coarse = coarse
        self.keepReceived = keepReceived
        cursor = LayerCursor(segment: plan.shardSegment(host), layers: shape.layers)
    }

    var isDone: Bool { stage == .done }
    private var next: Int { (host + 1) % plan.hosts }

    private mutating func issue(_ op: Op, _ ids: inout OpCounter) -> Directive { cursor.issue(op, &ids) }

    /// The KV stores holding `origin`'s context, each once (a striped host's many runs share one store).
    private func blocks(of origin: Int) -> [KVRef] { plan.chunks(onHost: origin).map { .block($0) } }

    private func kvMessage(origin: Int) -> Message {
        Message(
            .kv(layer: layer, origin: origin, blocks: blocks(of: origin), tokens: plan.contextTokens(onHost: origin)),
            shape: shape)
    }

    mutating func start(_ ids: inout OpCounter) -> [Directive] {
        precondition(stage == .idle, "RingPrefill started twice")
        if coarse && plan.hosts == 1 {
            stage = .encoding
            return [
                issue(
                    .encode(
                        segment, keys: blocks(of: host), dropAnchor: nil,
                        visiblePairsPerLayer: VisiblePairs.count(queries: segment.runs, keys: plan.keyRuns(onHost: host)),
                        keyTokensPerLayer: plan.contextTokens(onHost: host)), &ids)
            ]
        }
        stage = .embedding
        return [issue(.embed(segment), &ids)]
    }

    /// Attends to (and forwards) the block of `origin` at the current layer.
    private mutating func process(origin: Int, _ ids: inout OpCounter) -> [Directive] {
        var out: [Directive] = []
        if origin != host {
            received += 1
            if next != origin { out.append(.send(to: next, kvMessage(origin: origin))) }
        }
        if plan.exchange == .allGather {
            // All-gather CP: attend once, to every block, when the gather is complete.
            gathered.append(origin)
            guard gathered.count == plan.hosts else { return out }
            let origins = gathered.sorted()
            gathered = []
            let keyRuns = origins.flatMap { plan.keyRuns(onHost: $0) }
            let id = ids.make()
            outstanding[id] = host
            attends += 1
            return out + [.compute(id, .attend(
                layer: layer, queries: segment, keys: origins.flatMap { blocks(of: $0) },
                visiblePairs: VisiblePairs.count(queries: segment.runs, keys: keyRuns),
                keyTokens: keyRuns.reduce(0) { $0 + $1.count }))]
        }
        let keyRuns = plan.keyRuns(onHost: origin)
        let pairs = VisiblePairs.count(queries: segment.runs, keys: keyRuns)
        if pairs > 0 {
            let id = ids.make()
            outstanding[id] = origin
            attends += 1
            let tokens = keyRuns.reduce(0) { $0 + $1.count }
            out.append(
                .compute(
                    id,
                    .attend(
                        layer: layer, queries: segment, keys: blocks(of: origin), visiblePairs: pairs,
                        keyTokens: tokens)))
        } else if origin != host && !keepReceived {
            out += blocks(of: origin).map { .dropKV(layer: layer, $0) }
        }
        return out
    }

    private mutating func checkLayer(_ ids: inout OpCounter) -> [Directive] {
        guard stage == .ringing, received == plan.hosts - 1, outstanding.isEmpty else { return [] }
        let parts = attends
        received = 0
        attends = 0
        if parts > 1 {
            stage = .merging
            return [issue(.merge(layer: layer, segment, parts: parts), &ids)]
        }
        stage = .finishing
        return [cursor.finish(&ids)]
    }

    /// Directives following the completion of `id`, or nil when `id` is not this prefill's.
    mutating func completed(_ id: OpID, _ ids: inout OpCounter) -> [Directive]? {
        if let origin = outstanding.removeValue(forKey: id) {
            var out: [Directive] = []
            if plan.exchange == .allGather {
                // The gathered blocks are used up (the one attend covered them all).
                if !keepReceived {
                    for o in 0..<plan.hosts where o != host { out += blocks(of: o).map { .dropKV(layer: layer, $0) } }
                }
            } else if origin != host && !keepReceived {
                out += blocks(of: origin).map { .dropKV(layer: layer, $0) }
            }
            return out + checkLayer(&ids)
        }
        guard cursor.completes(id) else { return nil }
        switch stage {
        case .embedding:
            stage = .inputs
            return [cursor.inputs(&ids)]
        case .inputs:
            stage = .ringing
            var out: [Directive] = []
            if plan.hosts > 1 { out.append(.send(to: next, kvMessage(origin: host))) }
            out += process(origin: host, &ids)
            for origin in buffered.removeValue(forKey: layer) ?? [] { out += process(origin: origin, &ids) }
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
        case .encoding:
            stage = .done
            return [.dropHidden(segment)]
        case .idle, .ringing, .done:
            preconditionFailure("RingPrefill host \(host): completion of \(id) in stage \(stage)")
        }
    }

    /// Handles a ring KV message; nil when the message is not a ring message.
    mutating func received(_ message: Message, from: Int, _ ids: inout OpCounter) -> [Directive]? {
        guard case .kv(let l, let origin, _, _) = message.payload else { return nil }
        precondition(
            from == (host - 1 + plan.hosts) % plan.hosts && origin != host && l >= layer && stage != .done,
            "RingPrefill host \(host) at layer \(layer): unexpected \(message) from host \(from)")
        if l == layer && stage == .ringing { return process(origin: origin, &ids) + checkLayer(&ids) }
        buffered[l, default: []].append(origin)
        return []
    }
}
