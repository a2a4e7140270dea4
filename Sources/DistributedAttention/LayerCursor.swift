/// The spine of a layer-stepped prefill on one segment: the one op of its own it has in flight, and
/// the layer it is at — `embed`, then per layer `layerInputs` … `finishLayer`, then the next layer,
/// until the last is finished. What happens between `layerInputs` and `finishLayer` (ring steps,
/// visiting Q blocks, passing blocks) is the prefill's own. Shared by ``RingPrefill``,
/// ``PassQPrefill`` and ``APBPrefill``.
struct LayerCursor: Sendable {
    let segment: Segment
    let layers: Int
    /// The layer the segment is at.
    private(set) var layer = 0
    private var waiting: OpID?

    init(segment: Segment, layers: Int) {
        self.segment = segment
        self.layers = layers
    }

    /// Issues `op` as the segment's one op in flight.
    mutating func issue(_ op: Op, _ ids: inout OpCounter) -> Directive {
        let id = ids.make()
        waiting = id
        return .compute(id, op)
    }

    /// Whether `id` is the op in flight; it is then done.
    mutating func completes(_ id: OpID) -> Bool {
        guard let w = waiting, w == id else { return false }
        waiting = nil
        return true
    }

    /// `layerInputs` of the current layer (K,V stored).
    mutating func inputs(_ ids: inout OpCounter) -> Directive {
        issue(.layerInputs(layer: layer, segment, storesKV: true), &ids)
    }

    /// `finishLayer` of the current layer.
    mutating func finish(_ ids: inout OpCounter) -> Directive { issue(.finishLayer(layer: layer, segment), &ids) }

    /// After `finishLayer`: the next layer's `layerInputs`, or nil when that was the last layer.
    mutating func nextLayer(_ ids: inout OpCounter) -> Directive? {
        guard layer + 1 < layers else { return nil }
        layer += 1
        return inputs(&ids)
    }
}
