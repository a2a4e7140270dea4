/// Encodes a list of segments one after another with local causal attention and no communication
/// (Star phase 1, Global's context prefill). One op in flight at a time.
struct LocalEncoder: Sendable {
    struct Job: Sendable {
        let segment: Segment
        /// Stores attended to (after this segment's own KV is appended to them).
        let keys: [KVRef]
        /// Token runs of those stores (for visible-pair and KV-length counts).
        let keyRuns: [TokenRun]
        /// Store dropped after every layer's attend (the Star anchor).
        let dropAnchor: KVRef?
    }

    private enum Stage: Sendable { case idle, embedding, inputs, attending, finishing, encoding, done }

    let layers: Int
    let coarse: Bool
    private let jobs: [Job]
    private var index = 0
    private var layer = 0
    private var stage = Stage.idle
    private var waiting: OpID?

    init(jobs: [Job], layers: Int, coarse: Bool) {
        self.jobs = jobs
        self.layers = layers
        self.coarse = coarse
    }

    var isDone: Bool { stage == .done }

    mutating func start(_ ids: inout OpCounter) -> [Directive] {
        precondition(stage == .idle, "LocalEncoder started twice")
        return beginJob(&ids)
    }

    private var job: Job { jobs[index] }
    private var pairs: Int { VisiblePairs.count(queries: job.segment.runs, keys: job.keyRuns) }
    private var keyTokens: Int { job.keyRuns.reduce(0) { $0 + $1.count } }

    private mutating func issue(_ op: Op, _ ids: inout OpCounter) -> Directive {
        let id = ids.make()
        waiting = id
        return .compute(id, op)
    }

    private mutating func beginJob(_ ids: inout OpCounter) -> [Directive] {
        guard index < jobs.count else {
            stage = .done
            waiting = nil
            return []
        }
        if coarse {
            stage = .encoding
            return [
                issue(
                    .encode(
                        job.segment, keys: job.keys, dropAnchor: job.dropAnchor, visiblePairsPerLayer: pairs,
                        keyTokensPerLayer: keyTokens), &ids)
            ]
        }
        stage = .embedding
        return [issue(.embed(job.segment), &ids)]
    }

    /// Directives following the completion of `id`, or nil when `id` is not this encoder's.
    mutating func completed(_ id: OpID, _ ids: inout OpCounter) -> [Directive]? {
        guard let w = waiting, w == id else { return nil }
        let seg = job.segment
        switch stage {
        case .embedding:
            layer = 0
            stage = .inputs
            return [issue(.layerInputs(layer: 0, seg, storesKV: true), &ids)]
        case .inputs:
            stage = .attending
            return [
                issue(
                    .attend(layer: layer, queries: seg, keys: job.keys, visiblePairs: pairs, keyTokens: keyTokens),
                    &ids)
            ]
        case .attending:
            var out: [Directive] = []
            if let anchor = job.dropAnchor { out.append(.dropKV(layer: layer, anchor)) }
            stage = .finishing
            out.append(issue(.finishLayer(layer: layer, seg), &ids))
            return out
        case .finishing:
            if layer + 1 < layers {
                layer += 1
                stage = .inputs
                return [issue(.layerInputs(layer: layer, seg, storesKV: true), &ids)]
            }
            index += 1
            return [.dropHidden(seg)] + beginJob(&ids)
        case .encoding:
            index += 1
            return [.dropHidden(seg)] + beginJob(&ids)
        case .idle, .done:
            preconditionFailure("LocalEncoder: completion of \(id) in stage \(stage)")
        }
    }
}
