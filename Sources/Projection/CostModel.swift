import ClusterSpec
import DistributedAttention
import Foundation

/// How the GPUs of one host share a model.
public enum ParallelCombine: String, Sendable, Hashable, CaseIterable, Codable {
    /// Layers split across the GPUs (the paper's runs, HF `device_map`): a segment goes through the
    /// GPUs one after another, so an op runs on one GPU at one GPU's speed; memory is ×G; the hidden
    /// states are handed from GPU to GPU at slice boundaries (see ``CostModel/intraHostTransfers(of:)``).
    case pipeline
    /// Megatron-style tensor parallelism: every GEMM and the attention heads split G ways (narrower,
    /// less efficient shards), two all-reduces of `tokens · hidden · bytes` per layer.
    case tensorParallel = "tensor-parallel"
}

/// The cost of one primitive (a GEMM, an attention kernel, a streaming pass) on one GPU.
public struct PrimitiveCost: Sendable, Hashable, CustomStringConvertible {
    public enum Bound: String, Sendable, Hashable { case compute, memory }
    public var name: String
    /// Floating-point operations on the busiest GPU.
    public var flops: Double
    /// Bytes moved to/from device memory on the busiest GPU.
    public var bytes: Double
    /// Kernel launches charged.
    public var kernels: Int
    /// `max(flops / (peak·eff), bytes / (bandwidth·memEff)) + kernels · overhead`.
    public var seconds: Double
    /// Which term of the max won.
    public var bound: Bound

    public var description: String {
        String(format: "%@: %.3g FLOP, %.3g B, %d kernels, %.4g s (%@-bound)", name, flops, bytes, kernels, seconds, bound.rawValue)
    }
}

/// The cost of one op: its primitives and their sum.
public struct OpCost: Sendable, Hashable {
    public var primitives: [PrimitiveCost]
    /// Sum of the primitives' times, seconds.
    public var seconds: Double { primitives.reduce(0) { $0 + $1.seconds } }
    public var flops: Double { primitives.reduce(0) { $0 + $1.flops } }
    public var bytes: Double { primitives.reduce(0) { $0 + $1.bytes } }
    public var kernels: Int { primitives.reduce(0) { $0 + $1.kernels } }

    init(_ primitives: [PrimitiveCost]) { self.primitives = primitives }

    static func + (a: OpCost, b: OpCost) -> OpCost { OpCost(a.primitives + b.primitives) }
}

/// A transfer between the GPUs of one host that an op implies; the simulation charges it on the
/// host's intra-host link (`TopologyDescription.intraHostLink`).
public struct IntraHostTransfer: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Pipeline: hidden states `[tokens, hidden]` from the GPU of one layer slice to the next.
        case pipelineHandoff
        /// Tensor parallel: all-reduce of `[tokens, hidden]` among the host's G GPUs
        /// (ring all-reduce moves `2·(G−1)/G · bytes` per GPU).
        case allReduce
        /// Tensor parallel: gathering vocabulary shards of the logits row.
        case allGather
    }

    public var kind: Kind
    /// Size of one transfer's payload (the full tensor), bytes.
    public var bytes: Int
    /// How many such transfers, one after another.
    public var count: Int

    public init(kind: Kind, bytes: Int, count: Int) {
        self.kind = kind
        self.bytes = bytes
        self.count = count
    }

    public var description: String { "\(count)× \(kind.rawValue) of \(bytes) B" }
}

/// How the software stack runs Ring Attention steps (Liu et al., arXiv 2310.01889): the two ways a
/// real ring differs from ideal overlapped flash attention that are *not* already in the engine (the
/// contiguous ring's causal imbalance is: the plan gives each host its visible pairs).
///
/// - `attentionEfficiency` `r ∈ (0, 1]`: a ring step's attention runs at `r ×` the efficiency of local
///   attention of the same shape (per-step launch, fp32 out/lse update in Python, non-fused masking).
/// - `overlapsTransfer`: `true` (ring-flash-attention): the K,V exchange of a step runs on the link
///   while the host computes, the engine's default; `false` (a naive ring): the host blocks on the
///   exchange after the step's attention, so a step costs `attention + transfer`. The engine charges
///   the transfer time `latency + bytes / bandwidth` of the inter-host link as host time of the
///   attention of every *received* block (see `HostOpCost`), while the bytes still flow on
///   the link (traffic counters unchanged).
public struct RingStepParameters: Sendable, Hashable, CustomStringConvertible {
    public var attentionEfficiency: Double
    public var overlapsTransfer: Bool

    public init(attentionEfficiency: Double, overlapsTransfer: Bool) {
        self.attentionEfficiency = attentionEfficiency
        self.overlapsTransfer = overlapsTransfer
    }

    /// Ring steps at local-attention efficiency with the exchange overlapped (the engine without
    /// these parameters).
    public static let ideal = RingStepParameters(attentionEfficiency: 1, overlapsTransfer: true)

    public var description: String {
        "ring steps at \(attentionEfficiency)× attention efficiency, \(overlapsTransfer ? "overlapped" : "blocking (naive)") K,V exchange"
    }
}

/// The software that runs the kernels, where it changes what an op costs beyond its kernels' math.
///
/// - `fused` (the default; what serving engines do): a merge of attention partials is one fused
///   pass, only the sampled row's logits are computed, the KV cache is preallocated (appending
///   writes the new rows only).
/// - `hfReference`: HF transformers eager as the paper's reference code runs it (NVIDIA
///   Star-Attention, `model.py`, `star_attention/modeling_llama.py`, `*_flash_attn/utils.py`):
///   1. every partial is folded into an fp32 output by its own `update_out_and_lse` call (the
///      first one cast to fp32, the result cast back), and phase 2 first allocates zeroed buffers
///      for the all-gathered partials (`torch.zeros_like`, two per host);
///   2. every forward computes the vocabulary logits of *every* row (`lm_head` over all tokens,
///      then `.float()`), not only the last;
///   3. the decoding host appends its new K,V with `DynamicCache.update`, a `torch.cat` that copies
///      the host's whole cache at every layer of every step.
///   Each is charged from the shapes (bytes at the memory efficiency, GEMMs through the tile model,
///   kernel launches at the device's kernel overhead): no parameter of its own.
public enum Framework: String, Sendable, Hashable, CaseIterable, Codable {
    case fused
    case hfReference = "hf-reference"
}

/// Time of each compute op of a host program on a host of `gpusPerHost` devices: shapes × device
/// profile × efficiencies → seconds. Pure.
///
/// Every primitive costs `max(compute, memory) + n · t₀`: compute from its FLOPs in whole tiles and
/// waves over the device's compute units (`device.tiling`, `device.computeUnits`) at a fraction of peak
/// FLOP/s, memory from its bytes at a fraction of bandwidth (fractions from ``EfficiencyParameters``),
/// `n` = kernels, `t₀` = `device.kernelOverheadSeconds`. See `Docs/Projection.md`.
public struct CostModel: Sendable {
    public let device: DeviceProfile
    public let efficiency: EfficiencyParameters
    public let gpusPerHost: Int
    public let combine: ParallelCombine
    public let shape: ModelShape
    /// How ring steps run (``ringStepCost(queries:keyTokens:visiblePairs:)``).
    public let ringSteps: RingStepParameters
    /// The software stack's own costs (``Framework``).
    public let framework: Framework

    /// Why a host's GPUs cannot hold this model with `combine`, or nil: a pipeline gives each GPU whole
    /// layers, so it needs at least as many layers as GPUs. Front ends check this before building a
    /// cost model (whose precondition it is).
    public static func splitProblem(gpusPerHost: Int, combine: ParallelCombine, shape: ModelShape) -> String? {
        guard combine == .pipeline, gpusPerHost > shape.layers else { return nil }
        return "a pipeline over \(gpusPerHost) GPUs per host needs at least as many layers; the model has \(shape.layers) "
            + "(use at most \(shape.layers) GPUs per host, or tensor-parallel)"
    }

    /// - Precondition: `gpusPerHost ≥ 1`; for `.pipeline`, `gpusPerHost ≤ shape.layers`; the device's
    ///   peak and bandwidth positive and finite, its kernel overhead finite and ≥ 0 (profiles read from
    ///   YAML are validated with messages before they get here).
    ///   `ringSteps.attentionEfficiency` in (0, 1].
    public init(
        device: DeviceProfile, efficiency: EfficiencyParameters, gpusPerHost: Int = 1,
        combine: ParallelCombine = .pipeline, shape: ModelShape, ringSteps: RingStepParameters = .ideal,
        framework: Framework = .fused
    ) {
        precondition(
            ringSteps.attentionEfficiency > 0 && ringSteps.attentionEfficiency <= 1,
            "CostModel: ring attention efficiency must be in (0, 1], got \(ringSteps.attentionEfficiency)")
        precondition(gpusPerHost >= 1, "CostModel: gpusPerHost must be at least 1, got \(gpusPerHost)")
        precondition(device.computeUnits >= 1, "CostModel: device '\(device.name)' needs at least one compute unit")
        precondition(
            device.flopsPerSecond > 0 && device.flopsPerSecond.isFinite && device.memoryBandwidthBytesPerSecond > 0
                && device.memoryBandwidthBytesPerSecond.isFinite && device.kernelOverheadSeconds >= 0
                && device.kernelOverheadSeconds.isFinite,
            "CostModel: device '\(device.name)' needs positive finite flopsPerSecond and memoryBandwidthBytesPerSecond "
                + "and a finite non-negative kernelOverheadSeconds")
        precondition(
            Self.splitProblem(gpusPerHost: gpusPerHost, combine: combine, shape: shape) == nil,
            "CostModel: pipeline over \(gpusPerHost) GPUs needs at least as many layers (\(shape.layers))")
        self.device = device
        self.efficiency = efficiency
        self.gpusPerHost = gpusPerHost
        self.combine = combine
        self.shape = shape
        self.ringSteps = ringSteps
        self.framework = framework
    }

    /// Uses the spec's profile, efficiencies, ring-step parameters and framework.
    public init(device: DeviceSpec, gpusPerHost: Int = 1, combine: ParallelCombine = .pipeline, shape: ModelShape) {
        self.init(device: device.profile, efficiency: device.efficiency, gpusPerHost: gpusPerHost, combine: combine, shape: shape,
                  ringSteps: device.ringSteps, framework: device.framework.value)
    }

    private var tp: Int { combine == .tensorParallel ? gpusPerHost : 1 }
    private var e: Double { Double(shape.bytesPerElement) }

    // MARK: Ops

    /// Modeled time of `op` on this host (rounded up to a nanosecond).
    public func duration(of op: Op) -> SimDuration { .seconds(cost(of: op).seconds) }

    /// Modeled cost of `op`, primitive by primitive.
    public func cost(of op: Op) -> OpCost {
        switch op {
        case .embed(let s):
            return embedCost(tokens: s.tokenCount)
        case .layerInputs(_, let s, let storesKV):
            return layerInputsCost(tokens: s.tokenCount, storesKV: storesKV)
        case .attend(_, let q, let keys, let pairs, let keyTokens):
            return OpCost([attention(queries: q.tokenCount, keyTokens: keyTokens, visiblePairs: pairs)])
                + cacheAppendCost(queries: q, keys: keys, keyTokens: keyTokens)
        case .attendHeads(_, let q, _, let groups, _, let pairs, let keyTokens):
            return OpCost([attentionCost("attention(heads 1/\(groups))", queries: q.tokenCount, keyTokens: keyTokens,
                                         visiblePairs: pairs, efficiencyFactor: 1, headGroups: groups)])
        case .merge(_, let s, let parts):
            return mergeCost(tokens: s.tokenCount, parts: parts, gathered: s.phase != .contextEncoding)
        case .mergeHeads(_, let s, _, let groups, let parts):
            return mergeCost(tokens: s.tokenCount, parts: parts, headGroups: groups, gathered: s.phase != .contextEncoding)
        case .compress(_, let s, _, let keep, let candidates, let selection, let window):
            return compressCost(blockTokens: s.runs.last?.count ?? s.tokenCount, candidates: candidates.count, keep: keep,
                                selection: selection, window: window)
        case .finishLayer(let l, let s):
            return finishLayerCost(tokens: s.tokenCount)
                + (l == shape.layers - 1 ? allRowLogitsCost(rows: extraLogitRows(s)) : OpCost([]))
        case .encode(let s, _, _, let pairs, let keyTokens):
            return encodeCost(tokens: s.tokenCount, visiblePairsPerLayer: pairs, keyTokensPerLayer: keyTokens)
                + allRowLogitsCost(rows: extraLogitRows(s))
        case .logits:
            return logitsCost()
        case .sample:
            return OpCost([stream("sample(argmax)", bytes: Double(shape.vocab) * 4, kernels: 1)])
        }
    }

    /// Token embedding gather: reads and writes `tokens · hidden` elements.
    public func embedCost(tokens n: Int) -> OpCost {
        OpCost([stream("embed", bytes: 2 * Double(n * shape.hidden) * e, kernels: 1)])
    }

    /// RMSNorm, fused Q(K,V) GEMM (`[n, hidden] × [hidden, (heads + 2·kvHeads)·headDim]`, Q only when
    /// `storesKV` is false), RoPE on Q (and K).
    public func layerInputsCost(tokens n: Int, storesKV: Bool) -> OpCost {
        let s = shape
        let h = Double(s.hidden), N = Double(n)
        let kvHeads = storesKV ? s.kvHeads : 0
        let cols = (s.heads + 2 * kvHeads) * s.headDim
        return OpCost([
            stream("rmsnorm", bytes: 2 * N * h * e + h * e, kernels: 1),
            gemm("qkv", m: n, n: cols, k: s.hidden, shard: .columns),
            stream("rope", bytes: 2 * N * Double((s.heads + kvHeads) * s.headDim) * e / Double(tp), kernels: 1),
        ])
    }

    /// O projection, residual, RMSNorm, gate+up GEMM, SiLU·mul, down GEMM, residual.
    public func finishLayerCost(tokens n: Int) -> OpCost {
        let s = shape
        let h = Double(s.hidden), N = Double(n), f = Double(s.ffn)
        return OpCost([
            gemm("o_proj", m: n, n: s.hidden, k: s.heads * s.headDim, shard: .rows),
            stream("residual", bytes: 3 * N * h * e, kernels: 1),
            stream("rmsnorm", bytes: 2 * N * h * e + h * e, kernels: 1),
            gemm("gate_up", m: n, n: 2 * s.ffn, k: s.hidden, shard: .columns),
            stream("silu_mul", bytes: 3 * N * f * e / Double(tp), kernels: 1),
            gemm("down", m: n, n: s.hidden, k: s.ffn, shard: .rows),
            stream("residual", bytes: 3 * N * h * e, kernels: 1),
        ])
    }

    /// Exact LSE merge of `parts` partials of `tokens` rows: reads every partial (output + fp32 lse),
    /// writes one; `parts − 1` kernels (nothing when `parts ≤ 1`). `headGroups`: the partials hold one
    /// head group of that many (USP's `mergeHeads`), so `heads/headGroups` heads per row.
    ///
    /// With ``Framework/hfReference`` the reference's fp32 online update instead: the first partial
    /// cast to fp32 (`e + 4` bytes per element), one `update_out_and_lse` per further partial
    /// (reads the fp32 output and the partial, writes the output: `8 + e`; its lse `12` per row and
    /// head; two kernels), the result cast back (`4 + e`); a phase-2 merge (`gathered`) first zeroes
    /// the all-gather's receive buffers (`zeros_like` of every partial's output and lse: `2·parts`
    /// kernels). Charged even for one partial (the casts run).
    public func mergeCost(tokens n: Int, parts: Int, headGroups: Int = 1, gathered: Bool = false) -> OpCost {
        let heads = Double(shape.heads) / Double(headGroups)
        if framework == .hfReference, parts >= 1 { return referenceMergeCost(tokens: n, parts: parts, heads: heads, gathered: gathered) }
        guard parts > 1 else { return OpCost([]) }
        let row = heads * Double(shape.headDim) * e + heads * 4
        return OpCost([stream("merge", bytes: Double(parts + 1) * Double(n) * row / Double(tp), kernels: parts - 1)])
    }

    /// The ``Framework/hfReference`` merge of ``mergeCost(tokens:parts:headGroups:gathered:)``, `heads`
    /// per row.
    private func referenceMergeCost(tokens n: Int, parts: Int, heads: Double, gathered: Bool) -> OpCost {
        let elements = Double(n) * heads * Double(shape.headDim) / Double(tp), lseRows = Double(n) * heads / Double(tp)
        var cost = OpCost([
            stream("merge(fp32 casts)", bytes: 2 * elements * (e + 4), kernels: 2),
            stream("merge(update_out_and_lse)", bytes: Double(parts - 1) * (elements * (8 + e) + lseRows * 12), kernels: 2 * (parts - 1)),
        ])
        if gathered {
            cost = cost + OpCost([stream("merge(zeros_like)", bytes: Double(parts) * (elements * e + lseRows * 4), kernels: 2 * parts)])
        }
        return cost
    }

    /// ``Framework/hfReference``: rows of `s` whose logits a forward computes beyond the one the
    /// program's `logits` op charges — every row of a context segment, all but the last of the
    /// query, none of a generated token; 0 with ``Framework/fused``.
    func extraLogitRows(_ s: Segment) -> Int {
        guard framework == .hfReference else { return 0 }
        switch s.role {
        case .query: return s.tokenCount - 1
        case .generated: return 0
        default: return s.tokenCount
        }
    }

    /// The output head over `rows` rows and the cast of their logits to fp32 (HF's `lm_head` on all
    /// hidden states, `logits.float()`): final RMSNorm, `[rows, hidden] × [hidden, vocab]`, then
    /// `rows · vocab · (e + 4)` bytes. Nothing for 0 rows.
    public func allRowLogitsCost(rows: Int) -> OpCost {
        guard rows > 0 else { return OpCost([]) }
        let R = Double(rows), h = Double(shape.hidden), v = Double(shape.vocab)
        return OpCost([
            stream("final_norm(all rows)", bytes: 2 * R * h * e + h * e, kernels: 1),
            gemm("lm_head(all rows)", m: rows, n: shape.vocab, k: shape.hidden, shard: .columns),
            stream("logits.float()", bytes: R * v * (e + 4) / Double(tp), kernels: 1),
        ])
    }

    /// ``Framework/hfReference``: the decoding host appends the new rows' K,V by concatenation
    /// (`DynamicCache.update` → `torch.cat`), copying its whole cache at this layer: read and write
    /// `keyTokens · kvBytesPerTokenPerLayer` (K and V: two kernels). Charged on an attend of a query
    /// or generated segment whose own store is among the keys (the host that appended); nothing with
    /// ``Framework/fused`` (a preallocated cache).
    func cacheAppendCost(queries q: Segment, keys: [KVRef], keyTokens: Int) -> OpCost {
        guard framework == .hfReference, q.phase != .contextEncoding,
              q.runs.contains(where: { keys.contains($0.kv) }) else { return OpCost([]) }
        let bytes = 2 * Double(keyTokens) * Double(shape.kvBytesPerTokenPerLayer) / Double(tp)
        return OpCost([stream("kv_cat(DynamicCache)", bytes: bytes, kernels: 2)])
    }

    /// APB's passing-block selection: SnapKV scores the block's keys with its last `window` queries
    /// (an attention of `window` rows over the block) and picks the top `keep` of the candidates;
    /// `recent` only copies. Both write `keep` rows of K,V.
    public func compressCost(blockTokens b: Int, candidates: Int, keep: Int, selection: APBPlan.PassingSelection,
                             window: Int) -> OpCost {
        let copy = stream("passing_copy", bytes: 2 * Double(keep) * Double(shape.kvBytesPerTokenPerLayer) / Double(tp), kernels: 1)
        guard selection == .snapKV else { return OpCost([copy]) }
        let w = min(window, b)
        let pairs = w * b - w * (w - 1) / 2
        return OpCost([attention(queries: w, keyTokens: b, visiblePairs: pairs),
                       stream("topk", bytes: Double(candidates) * 4 * 2, kernels: 1), copy])
    }

    /// Final RMSNorm + output head on one row (`[1, hidden] × [hidden, vocab]`: a weight-streaming GEMV).
    public func logitsCost() -> OpCost {
        let h = Double(shape.hidden)
        return OpCost([
            stream("final_norm", bytes: 3 * h * e, kernels: 1),
            gemm("lm_head", m: 1, n: shape.vocab, k: shape.hidden, shard: .columns),
        ])
    }

    /// `embed` + every layer's `layerInputs(storesKV: true)` + `attend` + `finishLayer`.
    public func encodeCost(tokens n: Int, visiblePairsPerLayer pairs: Int, keyTokensPerLayer keys: Int) -> OpCost {
        let layer = layerInputsCost(tokens: n, storesKV: true)
            + OpCost([attention(queries: n, keyTokens: keys, visiblePairs: pairs)]) + finishLayerCost(tokens: n)
        let perLayer = layer.primitives.map { p -> PrimitiveCost in
            var p = p
            p.flops *= Double(shape.layers)
            p.bytes *= Double(shape.layers)
            p.kernels *= shape.layers
            p.seconds *= Double(shape.layers)
            p.name = "\(shape.layers)×" + p.name
            return p
        }
        return embedCost(tokens: n) + OpCost(perLayer)
    }

    // MARK: Primitives

    enum Shard { case columns, rows }

    private var units: Double { Double(device.computeUnits) }

    /// GEMM `[m, k] × [k, n]` (tensor parallel: `n` (columns) or `k` (rows) split G ways):
    /// `2mnk` FLOPs; bytes = weights `k·n` + input `m·k` + output `m·n`.
    ///
    /// Up to `tiling.gemvMaxRows` rows a GEMV-like kernel streams the weights on every unit:
    /// `max(2mnk / (P·gemmMax), bytes / (W·memory))`. Above, the output is cut into `b = ⌈m/r⌉·⌈n/c⌉`
    /// tiles of `r × c` (`r` = `gemmSmallTileRows` for small `m`, else `gemmTileRows`), run in
    /// `⌈b/U⌉` waves over the `U` compute units, each tile `2·r·c·k` FLOPs at `P·gemmMax/U`; the
    /// bytes stream at `W·memory·min(1, b / (U·saturatingUnitsFraction))`.
    func gemm(_ name: String, m: Int, n: Int, k: Int, shard: Shard) -> PrimitiveCost {
        var n = n, k = k
        if tp > 1 { if shard == .columns { n = (n + tp - 1) / tp } else { k = (k + tp - 1) / tp } }
        let M = Double(m), N = Double(n), K = Double(k)
        let flops = 2 * M * N * K
        let bytes = (K * N + M * K + M * N) * e
        let peak = device.flopsPerSecond * efficiency.gemmMax
        let bandwidth = device.memoryBandwidthBytesPerSecond * efficiency.memory
        let t = device.tiling
        guard m > t.gemvMaxRows else {
            return primitive(name, flops: flops, computeSeconds: flops / peak, bytes: bytes, memorySeconds: bytes / bandwidth, kernels: 1)
        }
        let rows = m <= t.gemmSmallTileRows ? t.gemmSmallTileRows : t.gemmTileRows
        let tiles = Double((m + rows - 1) / rows) * Double((n + t.gemmTileColumns - 1) / t.gemmTileColumns)
        let waves = (tiles / units).rounded(.up)
        let compute = waves * 2 * Double(rows * t.gemmTileColumns) * K / (peak / units)
        let streaming = min(1, tiles / (units * efficiency.saturatingUnitsFraction))
        return primitive(name, flops: flops, computeSeconds: compute, bytes: bytes, memorySeconds: bytes / (bandwidth * streaming), kernels: 1)
    }

    /// A kernel bound by streaming `bytes` through memory.
    func stream(_ name: String, bytes: Double, kernels: Int) -> PrimitiveCost {
        primitive(name, flops: 0, computeSeconds: 0, bytes: bytes,
                  memorySeconds: bytes / (device.memoryBandwidthBytesPerSecond * efficiency.memory), kernels: kernels)
    }

    /// Attention of `queries` rows to `keyTokens` keys of which `visiblePairs` (query, key) pairs are
    /// visible: `4 · heads · headDim · visiblePairs` FLOPs; bytes = K and V once per KV head
    /// (`keyTokens · kvBytesPerTokenPerLayer`), Q read and output written per query head, fp32 lse.
    ///
    /// The kernel (FlashAttention-2 as `tiling` describes it) runs one tile per query head and
    /// `attentionTileRows` query rows, each over all the keys its rows see. One-query decode with GQA
    /// folds the `heads/kvHeads` query heads of a group into the rows of one tile per KV head, and
    /// splits the keys into as many parts as idle units allow (`decodeTileRows` rows, then a combine
    /// kernel). Compute time = `max(Σ tile FLOPs / (P·eff), longest tile / (P·eff/U))` with padded
    /// rows — a kernel of fewer tiles than units runs at the speed of one tile; memory time = bytes
    /// / (W·attentionMemory). See ``attentionEfficiency``.
    public func attention(queries: Int, keyTokens: Int, visiblePairs: Int) -> PrimitiveCost {
        attentionCost("attention", queries: queries, keyTokens: keyTokens, visiblePairs: visiblePairs, efficiencyFactor: 1)
    }

    /// `headGroups`: the op attends one group of that many of the heads (Ulysses): its heads, K,V
    /// heads and bytes are that share, like a further split of tensor parallelism.
    private func attentionCost(
        _ name: String, queries: Int, keyTokens: Int, visiblePairs: Int, efficiencyFactor: Double, headGroups: Int = 1
    ) -> PrimitiveCost {
        let s = shape
        guard queries > 0, visiblePairs > 0 else {
            return PrimitiveCost(name: "attention(empty)", flops: 0, bytes: 0, kernels: 0, seconds: 0, bound: .memory)
        }
        let t = device.tiling
        let split = tp * headGroups
        let heads = (s.heads + split - 1) / split, kvHeads = max(1, s.kvHeads / split)
        let group = max(1, heads / kvHeads)
        let folded = queries == 1 && group > 1
        let rows = folded ? group : queries
        let tileRows = queries == 1 ? t.decodeTileRows : t.attentionTileRows
        let tiles = (folded ? kvHeads : heads) * ((rows + tileRows - 1) / tileRows)
        var splits = 1
        if queries == 1, Double(tiles) < units {
            splits = max(1, min((keyTokens + t.keyTile - 1) / t.keyTile, Int(units) / tiles))
        }
        let q = Double(queries), pairs = Double(visiblePairs), d = Double(s.headDim)
        let flops = 4 * Double(heads) * d * pairs
        let meanKeys = pairs / q
        let rate = device.flopsPerSecond
            * attentionEfficiency(queries: q, keyTokens: Double(keyTokens), visiblePairs: pairs) * efficiencyFactor
        let total = Double(tiles) * 4 * Double(tileRows) * d * meanKeys
        let longest = 4 * Double(tileRows) * d * Double(keyTokens) / Double(splits)
        let compute = max(total / rate, longest / (rate / units))
        let bytes = (Double(keyTokens) * Double(s.kvBytesPerTokenPerLayer) / Double(split)
            + q * Double(heads) * (2 * d * e + 4))
        let memory = bytes / (device.memoryBandwidthBytesPerSecond * efficiency.attentionMemory)
        return primitive(name, flops: flops, computeSeconds: compute, bytes: bytes, memorySeconds: memory, kernels: splits > 1 ? 2 : 1)
    }

    /// Compute efficiency of an attention tile: `attentionMax`, times `k̄ / (k̄ + causalHalfKeys)`
    /// when the causal mask hides part of the keys (`k̄` = visible keys per query).
    private func attentionEfficiency(queries q: Double, keyTokens: Double, visiblePairs pairs: Double) -> Double {
        var eff = efficiency.attentionMax
        if pairs < q * keyTokens {  // the causal mask hides part of the keys
            let meanKeys = pairs / q
            eff *= meanKeys / (meanKeys + efficiency.causalHalfKeys)
        }
        return max(eff, 1e-12)
    }

    /// Attention of one ring step (a host's queries against one block, its own or a received one):
    /// ``attention(queries:keyTokens:visiblePairs:)`` with the compute efficiency multiplied by
    /// `ringSteps.attentionEfficiency` (memory-bound work unchanged). Equal to `attention` when the
    /// efficiency is 1. The blocking transfer of a naive ring is charged by the engine glue, which
    /// knows the link (see ``RingStepParameters``).
    public func ringStepCost(queries: Int, keyTokens: Int, visiblePairs: Int) -> PrimitiveCost {
        guard ringSteps.attentionEfficiency < 1 else {
            return attention(queries: queries, keyTokens: keyTokens, visiblePairs: visiblePairs)
        }
        return attentionCost("ring-step attention", queries: queries, keyTokens: keyTokens, visiblePairs: visiblePairs,
                             efficiencyFactor: ringSteps.attentionEfficiency)
    }

    /// `max(computeSeconds, memorySeconds) + kernels · overhead`.
    private func primitive(
        _ name: String, flops: Double, computeSeconds: Double, bytes: Double, memorySeconds: Double, kernels: Int
    ) -> PrimitiveCost {
        let t = max(computeSeconds, memorySeconds) + Double(kernels) * device.kernelOverheadSeconds
        return PrimitiveCost(
            name: name, flops: flops, bytes: bytes, kernels: kernels, seconds: t,
            bound: computeSeconds > memorySeconds ? .compute : .memory)
    }

    // MARK: Intra-host transfers

    /// Layers held by GPU `g` under `.pipeline`: contiguous, as even as possible (the first
    /// `layers % G` GPUs hold one more). Under `.tensorParallel` every GPU holds every layer.
    public func layers(onGPU g: Int) -> Range<Int> {
        precondition(g >= 0 && g < gpusPerHost, "CostModel: GPU \(g) out of 0..<\(gpusPerHost)")
        guard combine == .pipeline else { return 0..<shape.layers }
        return (0..<shape.layers).evenPiece(g, of: gpusPerHost)
    }

    /// The GPU holding `layer` (pipeline); 0 for tensor parallel.
    public func gpu(ofLayer layer: Int) -> Int {
        guard combine == .pipeline else { return 0 }
        return (0..<gpusPerHost).first { layers(onGPU: $0).contains(layer) } ?? gpusPerHost - 1
    }

    /// Transfers among the host's GPUs that `op` implies, to be charged on the intra-host link after
    /// (pipeline hand-off) or within (all-reduce) the op:
    /// - pipeline: `finishLayer(l)` where `l` is the last layer of a GPU's slice (not the last layer):
    ///   one hand-off of `tokens · hidden · bytesPerElement`; `encode`: `G − 1` of them.
    /// - tensor parallel: `finishLayer`: 2 all-reduces of `tokens · hidden · bytesPerElement`
    ///   (after the O projection and after the down projection); `encode`: `2 · layers` of them plus one
    ///   for the embedding; `embed`: 1; `logits`: one all-gather of the `vocab` logits (fp32).
    /// Nothing when `gpusPerHost == 1`.
    public func intraHostTransfers(of op: Op) -> [IntraHostTransfer] {
        guard gpusPerHost > 1 else { return [] }
        let hiddenBytes = { (n: Int) in n * self.shape.hidden * self.shape.bytesPerElement }
        switch (combine, op) {
        case (.pipeline, .finishLayer(let l, let s)):
            let last = layers(onGPU: gpu(ofLayer: l)).upperBound - 1
            guard l == last, l < shape.layers - 1 else { return [] }
            return [IntraHostTransfer(kind: .pipelineHandoff, bytes: hiddenBytes(s.tokenCount), count: 1)]
        case (.pipeline, .encode(let s, _, _, _, _)):
            return [IntraHostTransfer(kind: .pipelineHandoff, bytes: hiddenBytes(s.tokenCount), count: gpusPerHost - 1)]
        case (.tensorParallel, .finishLayer(_, let s)):
            return [IntraHostTransfer(kind: .allReduce, bytes: hiddenBytes(s.tokenCount), count: 2)]
        case (.tensorParallel, .encode(let s, _, _, _, _)):
            return [IntraHostTransfer(kind: .allReduce, bytes: hiddenBytes(s.tokenCount), count: 2 * shape.layers + 1)]
        case (.tensorParallel, .embed(let s)):
            return [IntraHostTransfer(kind: .allReduce, bytes: hiddenBytes(s.tokenCount), count: 1)]
        case (.tensorParallel, .logits):
            return [IntraHostTransfer(kind: .allGather, bytes: shape.vocab * 4, count: 1)]
        default:
            return []
        }
    }

    /// Pipeline hand-offs of one full pass of `tokens` through the host: `G − 1` transfers of
    /// `tokens · hidden · bytesPerElement` (0 for tensor parallel or one GPU).
    public func pipelineHandoffs(tokens: Int) -> (count: Int, bytesEach: Int) {
        guard combine == .pipeline, gpusPerHost > 1 else { return (0, 0) }
        return (gpusPerHost - 1, tokens * shape.hidden * shape.bytesPerElement)
    }

    /// Tensor-parallel all-reduces of one layer over `tokens`: 2 of `tokens · hidden · bytesPerElement`.
    public func tensorParallelAllReduces(tokens: Int) -> (count: Int, bytesEach: Int) {
        guard combine == .tensorParallel, gpusPerHost > 1 else { return (0, 0) }
        return (2, tokens * shape.hidden * shape.bytesPerElement)
    }
}
