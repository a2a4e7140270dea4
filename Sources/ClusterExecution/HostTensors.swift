import Foundation
import DistributedAttention
import Kernels
import Llama

/// The tensors one simulated host keeps while it executes an attention method for real, and the
/// real math behind each symbolic ``Op`` of `DistributedAttention`.
///
/// Shapes: hidden `[tokens, hidden]`; Q `[tokens, heads*headDim]`; K/V `[tokens, kvHeads*headDim]`;
/// partial output `[tokens, heads*headDim]` + lse `[tokens, heads]`.
///
/// Owned by one host shell and only used from that host's isolation (see `HostShell`).
final class HostTensors: OpBackend {
    /// One KV store at one layer.
    struct Store: Sendable {
        var keys: [Float] = []
        var values: [Float] = []
        var positions: [Int32] = []
    }

    /// What a message carries when executing for real.
    enum Data: Sendable {
        case none
        case tokens([Int32])
        case kv([(KVRef, Store)])
        case partial(AttentionPartial)
        case merged([Float])
        case queries([Float])
        /// Ulysses: one head group's Q, K, V rows of a segment.
        case headInputs(q: [Float], k: [Float], v: [Float])
        /// Ulysses: one head group's output rows of a segment.
        case headOutput([Float])
    }

    private struct Key: Hashable {
        let layer: Int
        let segment: Segment
    }

    let model: LlamaModel
    let geometry: AttentionGeometry
    /// Context ++ query ++ generated token ids as known on this host.
    private(set) var sequence: [Int32]
    private var hidden: [Segment: [Float]] = [:]
    private var queries: [Key: [Float]] = [:]
    private var stores: [KVRef: [Store]] = [:]
    private var localPartials: [Key: [AttentionPartial]] = [:]
    private var remotePartials: [Key: [AttentionPartial]] = [:]
    /// The sender of each remote partial, in the order of `remotePartials`.
    private var remoteSources: [Key: [Int]] = [:]
    private var mergedOutputs: [Key: [Float]] = [:]
    /// Ulysses: a segment's full K,V rows at a layer, kept until its head groups are sent.
    private var segmentKV: [Key: (k: [Float], v: [Float])] = [:]
    /// Ulysses: another host's Q rows of one head group (this host's), by segment and layer.
    private var headQueries: [Key: [Float]] = [:]
    /// Ulysses: output rows per head group of a segment at a layer, received from the group's host.
    private var headOutputs: [Key: [Int: [Float]]] = [:]
    /// Ulysses: this host's own head group's partials of a segment at a layer (one per attended
    /// store set; USP's ring makes several, merged by `mergeHeads`).
    private var headPartials: [Key: (group: Int, parts: [AttentionPartial])] = [:]
    private var lastLogits: [Float] = []
    /// Every logits row this host computed, in order (the query host: one per sampled token).
    private(set) var logitsHistory: [[Float]] = []

    /// Context + query tokens: generated token `n` is sequence index `promptLength + n`.
    let promptLength: Int

    /// This host's index.
    let host: Int
    /// Where to observe the query's merge (nil: nowhere).
    let probePoint: MergeProbe.Point?
    /// What was observed there (the query host's, once its query passed that layer).
    private(set) var probe: MergeProbe?

    init(model: LlamaModel, sequence: [Int32], host: Int = 0, probe: MergeProbe.Point? = nil) {
        self.model = model
        self.sequence = sequence
        self.host = host
        probePoint = probe
        promptLength = sequence.count
        geometry = model.attentionGeometry
    }

    /// Whether `segment` at `layer` is the probed one (the query, at the probe's layer).
    private func probed(layer: Int, _ s: Segment) -> MergeProbe.Point? {
        guard let p = probePoint, p.layer == layer, s.role == .query else { return nil }
        return p
    }

    /// Row `row`, head `head` of a partial: its lse and first values.
    private func probeValues(_ p: AttentionPartial, row: Int, head: Int) -> (lse: Float, values: [Float]) {
        let base = row * geometry.queryWidth + head * geometry.headDim
        let n = min(MergeProbe.shownValues, geometry.headDim)
        return (p.lse[row * geometry.heads + head], Array(p.output[base..<(base + n)]))
    }

    /// The token chosen by the last `.sample`.
    private(set) var sampledToken: Int32 = -1

    func work(for op: Op) -> (() -> Void)? {
        { [self] in perform(op) }
    }

    func dropKV(layer: Int, _ ref: KVRef) { drop(layer: layer, ref) }

    /// Performs one op (`.sample` sets `sampledToken`).
    func perform(_ op: Op) {
        switch op {
        case .embed(let s):
            // Token ids were validated against the vocabulary when the run was planned.
            hidden[s] = try! model.embed(s.tokenIndices.map { sequence[$0] })
        case .layerInputs(let layer, let s, let storesKV):
            layerInputs(layer: layer, segment: s, storesKV: storesKV)
        case .attend(let layer, let s, let keys, _, _):
            attend(layer: layer, segment: s, keys: keys)
        case .attendHeads(let layer, let s, let group, let groups, let keys, _, _):
            attendHeads(layer: layer, segment: s, group: group, of: groups, keys: keys)
        case .compress(let layer, let s, let into, let keep, let candidates, let selection, let window):
            compress(layer: layer, segment: s, into: into, keep: keep, candidates: candidates, selection: selection, window: window)
        case .mergeHeads(let layer, let s, let g, _, let parts):
            let key = Key(layer: layer, segment: s)
            guard let pending = headPartials[key], pending.group == g, pending.parts.count == parts else {
                preconditionFailure("mergeHeads of \(s) group \(g) at layer \(layer): program says \(parts) parts, host holds \(headPartials[key]?.parts.count ?? 0)")
            }
            headPartials[key] = (g, [AttentionPartial.merge(pending.parts)])
        case .merge(let layer, let s, let parts):
            let key = Key(layer: layer, segment: s)
            let local = localPartials.removeValue(forKey: key, default: [])
            let all = local + remotePartials.removeValue(forKey: key, default: [])
            let sources = Array(repeating: host, count: local.count) + remoteSources.removeValue(forKey: key, default: [])
            precondition(all.count == parts, "merge of \(s) at layer \(layer): program says \(parts) parts, host holds \(all.count)")
            if let p = probed(layer: layer, s), probe == nil {
                let row = s.tokenCount - 1
                probe = MergeProbe(point: p, host: host, parts: zip(all, sources).map { part, source in
                    let v = probeValues(part, row: row, head: p.head)
                    return MergeProbe.Part(source: source, lse: v.lse, values: v.values)
                }, output: [])
            }
            let merged = AttentionPartial.merge(all)
            mergedOutputs[key] = merged.output
            // Kept with its lse: a tree's inner host sends it on to its parent as its partial.
            localPartials[key] = [merged]
        case .finishLayer(let layer, let s):
            finishLayer(layer: layer, segment: s)
        case .encode(let s, let keys, let dropAnchor, _, _):
            perform(.embed(s))
            for layer in 0..<model.config.layerCount {
                layerInputs(layer: layer, segment: s, storesKV: true)
                attend(layer: layer, segment: s, keys: keys)
                if let dropAnchor { drop(layer: layer, dropAnchor) }
                finishLayer(layer: layer, segment: s)
            }
        case .logits(let s):
            guard let h = hidden[s] else { preconditionFailure("logits of \(s) before its hidden states exist") }
            lastLogits = model.logits(hidden: h, row: s.tokenCount - 1)
            logitsHistory.append(lastLogits)
        case .sample:
            precondition(!lastLogits.isEmpty, "sample before logits")
            sampledToken = LlamaModel.argmax(lastLogits)
            // The sampled token is the next token of the sequence on the host that sampled it; other
            // hosts learn it from the `.token` message.
            sequence.append(sampledToken)
        }
    }

    /// Removes a store at one layer (Star: the anchor after each layer's attend).
    func drop(layer: Int, _ ref: KVRef) {
        guard var perLayer = stores[ref], layer < perLayer.count else { return }
        perLayer[layer] = Store()
        stores[ref] = perLayer
    }

    func dropHidden(_ s: Segment) { hidden[s] = nil }

    /// Puts the K,V of `runs` (sequence indices, every layer) from `cache` — a forward pass over the
    /// cached prefix, row `t` = token `t` — into their stores: the state an earlier turn left.
    func seed(_ runs: [TokenRun], from cache: KVCache) {
        let width = cache.rowWidth
        for run in runs {
            for layer in 0..<model.config.layerCount {
                let rows = (run.tokens.lowerBound * width)..<(run.tokens.upperBound * width)
                append(run.kv, layer: layer, keys: cache.keys[layer][rows], values: cache.values[layer][rows], positions: run.positions)
            }
        }
    }

    /// Frees another host's Q rows at `layer` and the partial this host computed from them.
    func dropQueries(layer: Int, _ s: Segment) {
        let key = Key(layer: layer, segment: s)
        queries[key] = nil
        localPartials[key] = nil
        headQueries[key] = nil
        headOutputs[key] = nil
        headPartials[key] = nil
    }

    /// The output slice of this host's head group of `s` at `layer`: its single pending partial.
    private func ownSlice(_ key: Key) -> (group: Int, output: [Float])? {
        guard let pending = headPartials[key] else { return nil }
        precondition(pending.parts.count == 1, "head group \(pending.group) of \(key.segment) at layer \(key.layer): \(pending.parts.count) partials, not merged")
        return (pending.group, pending.parts[0].output)
    }

    // MARK: Messages

    /// The real payload of an outgoing message.
    func data(for message: Message) -> Data {
        switch message.payload {
        case .queryTokens(let s):
            return .tokens(s.tokenIndices.map { sequence[$0] })
        case .kv(let layer, _, let blocks, _):
            return .kv(blocks.map { ($0, store($0, layer: layer)) })
        case .queries(let layer, let s):
            guard let q = queries[Key(layer: layer, segment: s)] else {
                preconditionFailure("queries of \(s) at layer \(layer) sent before they exist here")
            }
            return .queries(q)
        case .headInputs(let layer, let s, let g, let n):
            let key = Key(layer: layer, segment: s)
            guard let q = queries[key], let kv = segmentKV[key] else {
                preconditionFailure("head inputs of \(s) at layer \(layer) sent before layerInputs")
            }
            return .headInputs(q: columns(q, group: g, of: n, width: geometry.queryWidth, tokens: s.tokenCount),
                               k: kvColumns(kv.k, group: g, of: n, tokens: s.tokenCount),
                               v: kvColumns(kv.v, group: g, of: n, tokens: s.tokenCount))
        case .headOutput(let layer, let s, let g, _):
            guard let own = ownSlice(Key(layer: layer, segment: s)), own.group == g else {
                preconditionFailure("head output \(g) of \(s) at layer \(layer) sent before its attend")
            }
            return .headOutput(own.output)
        case .partial(let layer, let s):
            let parts = localPartials[Key(layer: layer, segment: s), default: []]
            precondition(!parts.isEmpty, "partial of \(s) at layer \(layer) sent before any attend")
            return .partial(parts.count == 1 ? parts[0] : AttentionPartial.merge(parts))
        case .merged(let layer, let s):
            guard let out = mergedOutputs[Key(layer: layer, segment: s)] else {
                preconditionFailure("merged output of \(s) at layer \(layer) sent before the merge")
            }
            return .merged(out)
        case .token:
            return .none
        }
    }

    /// Stores what an incoming message carries.
    func receive(_ message: Message, from: Int, data: Data) {
        switch (message.payload, data) {
        case (.queryTokens(let s), .tokens(let ids)):
            for (i, t) in zip(s.tokenIndices, ids) where i < sequence.count { precondition(sequence[i] == t) }
        case (.kv(let layer, _, _, _), .kv(let blocks)):
            for (ref, store) in blocks { setStore(ref, layer: layer, store) }
        case (.queries(let layer, let s), .queries(let q)):
            queries[Key(layer: layer, segment: s)] = q
        case (.headInputs(let layer, let s, let g, let n), .headInputs(let q, let k, let v)):
            headQueries[Key(layer: layer, segment: s)] = q
            if case .heads(_, let split, _) = s.runs[0].kv { precondition(split == n, "head inputs of \(s) for a store of another split") }
            append(s.runs[0].kv.headGroup(g), layer: layer, keys: k[...], values: v[...], positions: s.positions)
        case (.headOutput(let layer, let s, let g, _), .headOutput(let out)):
            headOutputs[Key(layer: layer, segment: s), default: [:]][g] = out
        case (.partial(let layer, let s), .partial(let p)):
            remotePartials[Key(layer: layer, segment: s), default: []].append(p)
            remoteSources[Key(layer: layer, segment: s), default: []].append(from)
        case (.merged(let layer, let s), .merged(let out)):
            mergedOutputs[Key(layer: layer, segment: s)] = out
        case (.token(let n, let id, _), _):
            // Generated token n is sequence index promptLength + n.
            precondition(promptLength + n == sequence.count, "generated token \(n) arrived out of order")
            sequence.append(id)
        default:
            preconditionFailure("message \(message) arrived with a mismatched payload")
        }
    }

    // MARK: Math

    private func layerInputs(layer: Int, segment s: Segment, storesKV: Bool) {
        guard let h = hidden[s] else { preconditionFailure("layerInputs of \(s) before embed") }
        let qkv = model.attentionInputs(layer: layer, hidden: h, positions: s.positions)
        queries[Key(layer: layer, segment: s)] = qkv.q
        guard storesKV else { return }
        let width = geometry.kvHeads * geometry.headDim
        if let ref = s.runs.first?.kv, case .heads(let g, let n, _) = ref {
            // Ulysses: this host's head group stays in its store; the full rows wait to be sent.
            segmentKV[Key(layer: layer, segment: s)] = (qkv.k, qkv.v)
            append(ref, layer: layer, keys: kvColumns(qkv.k, group: g, of: n, tokens: s.tokenCount)[...],
                   values: kvColumns(qkv.v, group: g, of: n, tokens: s.tokenCount)[...], positions: s.positions)
            return
        }
        var row = 0
        for run in s.runs {
            let rows = (row * width)..<((row + run.count) * width)
            append(run.kv, layer: layer, keys: qkv.k[rows], values: qkv.v[rows], positions: run.positions)
            row += run.count
        }
    }

    /// Appends K,V rows and their positions to store `ref` at `layer`, in place (no copy of what the
    /// store holds): every way K,V enter a store here — computed, received, cached.
    private func append(_ ref: KVRef, layer: Int, keys: ArraySlice<Float>, values: ArraySlice<Float>, positions: some Sequence<Int32>) {
        let empty = Array(repeating: Store(), count: model.config.layerCount)
        stores[ref, default: empty][layer].keys.append(contentsOf: keys)
        stores[ref, default: empty][layer].values.append(contentsOf: values)
        stores[ref, default: empty][layer].positions.append(contentsOf: positions)
    }

    private func attend(layer: Int, segment s: Segment, keys: [KVRef]) {
        let key = Key(layer: layer, segment: s)
        guard let q = queries[key] else { preconditionFailure("attend of \(s) at layer \(layer) before layerInputs") }
        let positions = s.positions
        let parts = keys.map { ref -> AttentionPartial in
            let st = store(ref, layer: layer)
            return FlashAttention.attend(
                geometry: geometry, queries: q, queryPositions: positions,
                keys: st.keys, values: st.values, keyPositions: st.positions)
        }
        localPartials[key, default: []].append(parts.count == 1 ? parts[0] : AttentionPartial.merge(parts))
    }

    /// Ulysses: head group `g` (of `n`) of this host's own segment, or another host's Q slice, attended
    /// to `keys` (stores of the group's K,V) with the group's share of the heads.
    private func attendHeads(layer: Int, segment s: Segment, group g: Int, of n: Int, keys: [KVRef]) {
        let key = Key(layer: layer, segment: s)
        let sub = AttentionGeometry(heads: geometry.heads / n,
                                    kvHeads: ModelShape.kvHeadRange(group: g, of: n, kvHeads: geometry.kvHeads).count,
                                    headDim: geometry.headDim, scale: geometry.scale)
        let q: [Float]
        if let slice = headQueries[key] {
            q = slice
        } else if let full = queries[key] {
            q = columns(full, group: g, of: n, width: geometry.queryWidth, tokens: s.tokenCount)
        } else {
            preconditionFailure("attendHeads of \(s) at layer \(layer) before its queries")
        }
        let parts = keys.map { ref -> AttentionPartial in
            let st = store(ref, layer: layer)
            return FlashAttention.attend(geometry: sub, queries: q, queryPositions: s.positions,
                                         keys: st.keys, values: st.values, keyPositions: st.positions)
        }
        precondition(headPartials[key].map { $0.group == g } ?? true, "attendHeads of \(s) at layer \(layer): two head groups on one host")
        headPartials[key, default: (g, [])].parts.append(parts.count == 1 ? parts[0] : AttentionPartial.merge(parts))
    }

    /// APB: the passing block of `s` at `layer` — `keep` of the `candidates` (sequence indices, all in
    /// the store of the segment's last run, the block) chosen by `selection`, into store `into`.
    /// SnapKV-style: for each of the block's last `window` queries and each head, the softmax of its
    /// scores over the block's keys it sees; a candidate's score is its weight summed over those
    /// queries and heads; the top `keep` (ties: earlier token), in position order.
    private func compress(layer: Int, segment s: Segment, into: KVRef, keep: Int, candidates: Range<Int>,
                          selection: APBPlan.PassingSelection, window: Int) {
        guard let blockRun = s.runs.last, let q = queries[Key(layer: layer, segment: s)] else {
            preconditionFailure("compress of \(s) at layer \(layer) before layerInputs")
        }
        let st = store(blockRun.kv, layer: layer)
        let kvw = geometry.kvWidth, d = geometry.headDim
        // Store row of each block token (the block's K,V were appended in token order).
        let first = blockRun.tokens.lowerBound
        var chosen: [Int]
        switch selection {
        case .recent:
            chosen = Array(candidates.suffix(keep))
        case .snapKV:
            let w = min(window, blockRun.count)
            let rowBase = s.tokenCount - blockRun.count  // the block's first row in the segment
            var score = [Float](repeating: 0, count: blockRun.count)
            var logits = [Float](repeating: 0, count: blockRun.count)
            for r in (blockRun.count - w)..<blockRun.count {
                let qRow = (rowBase + r) * geometry.queryWidth
                for h in 0..<geometry.heads {
                    let kvHead = h / geometry.groupSize
                    var m = -Float.infinity
                    for c in 0...r {
                        var dot: Float = 0
                        let kRow = c * kvw + kvHead * d, qh = qRow + h * d
                        for i in 0..<d { dot += q[qh + i] * st.keys[kRow + i] }
                        logits[c] = dot * geometry.scale
                        m = max(m, logits[c])
                    }
                    var sum: Float = 0
                    for c in 0...r {
                        logits[c] = Foundation.exp(logits[c] - m)
                        sum += logits[c]
                    }
                    for c in 0...r { score[c] += logits[c] / sum }
                }
            }
            chosen = candidates.sorted { score[$0 - first] != score[$1 - first] ? score[$0 - first] > score[$1 - first] : $0 < $1 }
            chosen = Array(chosen.prefix(keep)).sorted()
        }
        var out = Store()
        for t in chosen {
            let row = t - first
            out.keys.append(contentsOf: st.keys[(row * kvw)..<((row + 1) * kvw)])
            out.values.append(contentsOf: st.values[(row * kvw)..<((row + 1) * kvw)])
            out.positions.append(st.positions[row])
        }
        setStore(into, layer: layer, out)
    }

    /// Columns of head group `g` of `n` of a `[tokens, width]` matrix: `[tokens, width/n]`.
    private func columns(_ m: [Float], group g: Int, of n: Int, width: Int, tokens: Int) -> [Float] {
        let w = width / n
        return columns(m, (g * w)..<((g + 1) * w), width: width, tokens: tokens)
    }

    /// The K (or V) columns of head group `g` of `n`: its KV heads (one shared KV head, replicated,
    /// when `n` exceeds the KV heads) of a `[tokens, kvHeads·headDim]` matrix.
    private func kvColumns(_ m: [Float], group g: Int, of n: Int, tokens: Int) -> [Float] {
        let heads = ModelShape.kvHeadRange(group: g, of: n, kvHeads: geometry.kvHeads), d = geometry.headDim
        return columns(m, (heads.lowerBound * d)..<(heads.upperBound * d), width: geometry.kvWidth, tokens: tokens)
    }

    /// Columns `cols` of a `[tokens, width]` matrix.
    private func columns(_ m: [Float], _ cols: Range<Int>, width: Int, tokens: Int) -> [Float] {
        var out = [Float]()
        out.reserveCapacity(tokens * cols.count)
        for t in 0..<tokens { out.append(contentsOf: m[(t * width + cols.lowerBound)..<(t * width + cols.upperBound)]) }
        return out
    }

    /// Joins head-group slices `[tokens, width/n]` (n = `slices.count`) into `[tokens, width]`.
    private func joinColumns(_ slices: [Int: [Float]], width: Int, tokens: Int) -> [Float] {
        let n = slices.count, w = width / n
        var out = [Float](repeating: 0, count: tokens * width)
        for (g, s) in slices {
            for t in 0..<tokens { out[(t * width + g * w)..<(t * width + (g + 1) * w)] = s[(t * w)..<((t + 1) * w)] }
        }
        return out
    }

    private func finishLayer(layer: Int, segment s: Segment) {
        let key = Key(layer: layer, segment: s)
        let attention: [Float]
        if headOutputs[key] != nil || headPartials[key] != nil {
            var slices = headOutputs.removeValue(forKey: key) ?? [:]
            if let own = ownSlice(key) { slices[own.group] = own.output }
            headPartials[key] = nil
            attention = joinColumns(slices, width: geometry.queryWidth, tokens: s.tokenCount)
        } else if let merged = mergedOutputs.removeValue(forKey: key) {
            attention = merged
        } else if let local = localPartials[key], local.count == 1, remotePartials[key] == nil {
            attention = local[0].output
        } else {
            preconditionFailure("finishLayer of \(s) at layer \(layer) without a single attention output")
        }
        if let p = probed(layer: layer, s), probe?.output.isEmpty ?? true {
            let base = (s.tokenCount - 1) * geometry.queryWidth + p.head * geometry.headDim
            let n = min(MergeProbe.shownValues, geometry.headDim)
            var observed = probe ?? MergeProbe(point: p, host: host, parts: [], output: [])
            observed.output = Array(attention[base..<(base + n)])
            probe = observed
        }
        localPartials[key] = nil
        remotePartials[key] = nil
        remoteSources[key] = nil
        queries[key] = nil
        segmentKV[key] = nil
        guard var h = hidden.removeValue(forKey: s) else { preconditionFailure("finishLayer of \(s) without hidden states") }
        model.finishLayer(layer: layer, hidden: &h, attention: attention)
        hidden[s] = h
    }

    private func store(_ ref: KVRef, layer: Int) -> Store {
        guard let perLayer = stores[ref], layer < perLayer.count else { return Store() }
        return perLayer[layer]
    }

    private func setStore(_ ref: KVRef, layer: Int, _ st: Store) {
        var perLayer = stores[ref] ?? Array(repeating: Store(), count: model.config.layerCount)
        perLayer[layer] = st
        stores[ref] = perLayer
    }
}

extension Dictionary {
    fileprivate mutating func removeValue(forKey key: Key, default value: Value) -> Value {
        removeValue(forKey: key) ?? value
    }
}
