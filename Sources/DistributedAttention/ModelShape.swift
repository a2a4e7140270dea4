/// The dimensions of a Llama-family decoder that the distributed programs need to size messages.
///
/// Only shapes, no weights: the same programs drive real SmolLM2 runs and modeled Llama-70B
/// projections. Byte sizes of messages are derived from these fields (see ``Message``).
public struct ModelShape: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Number of decoder layers.
    public var layers: Int
    /// Residual stream width (elements per token).
    public var hidden: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads (grouped-query attention: `heads` is a multiple of `kvHeads`).
    public var kvHeads: Int
    /// Elements per head.
    public var headDim: Int
    /// MLP intermediate width.
    public var ffn: Int
    /// Vocabulary size (rows of the output head).
    public var vocab: Int
    /// Bytes per activation / KV element on the wire and in memory: 2 for bf16, 4 for f32.
    public var bytesPerElement: Int

    public init(
        layers: Int, hidden: Int, heads: Int, kvHeads: Int, headDim: Int, ffn: Int, vocab: Int,
        bytesPerElement: Int
    ) {
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.ffn = ffn
        self.vocab = vocab
        self.bytesPerElement = bytesPerElement
    }

    /// SmolLM2-135M-Instruct as executed here (f32 math, so 4 bytes per element).
    public static let smolLM2_135M = ModelShape(
        layers: 30, hidden: 576, heads: 9, kvHeads: 3, headDim: 64, ffn: 1536, vocab: 49_152,
        bytesPerElement: 4)
    /// Llama-3.1-8B in bf16.
    public static let llama31_8B = ModelShape(
        layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, ffn: 14_336, vocab: 128_256,
        bytesPerElement: 2)
    /// Llama-3.1-70B in bf16.
    public static let llama31_70B = ModelShape(
        layers: 80, hidden: 8192, heads: 64, kvHeads: 8, headDim: 128, ffn: 28_672, vocab: 128_256,
        bytesPerElement: 2)

    /// Bytes of one token's K and V for one layer: `2 · kvHeads · headDim · bytesPerElement`.
    public var kvBytesPerTokenPerLayer: Int { 2 * kvHeads * headDim * bytesPerElement }
    /// Bytes of one token's attention partial for one layer: the output
    /// `heads · headDim · bytesPerElement` plus one fp32 log-sum-exp per head (`heads · 4`).
    public var partialBytesPerToken: Int { heads * headDim * bytesPerElement + heads * 4 }
    /// Bytes of one token's query rows (after RoPE) for one layer: `heads · headDim · bytesPerElement`
    /// (what a pass-Q ring sends instead of K,V).
    public var queryBytesPerTokenPerLayer: Int { heads * headDim * bytesPerElement }
    /// KV heads of head group `group` of `groups` (Ulysses): `kvHeads/groups` of them when `groups`
    /// divides `kvHeads`; else (`groups` a multiple of `kvHeads`) the one KV head the group's query
    /// heads share, replicated on `groups/kvHeads` groups.
    public static func kvHeadRange(group g: Int, of groups: Int, kvHeads: Int) -> Range<Int> {
        let start = g * kvHeads / groups
        return start..<(start + max(1, kvHeads / groups))
    }
    /// KV heads per head group of `groups`: `max(1, kvHeads/groups)`.
    public func kvHeadsPerGroup(_ groups: Int) -> Int { Self.kvHeadRange(group: 0, of: groups, kvHeads: kvHeads).count }
    /// Bytes of one token's Q, K and V of one head group of `groups` for one layer (Ulysses):
    /// `(heads/groups + 2·max(1, kvHeads/groups)) · headDim · bytesPerElement`.
    public func headInputBytesPerTokenPerLayer(groups: Int) -> Int {
        (heads / groups + 2 * kvHeadsPerGroup(groups)) * headDim * bytesPerElement
    }
    /// Bytes per token per layer of the K,V in store `ref`: a head group's KV heads for Ulysses' and
    /// USP's stores, every KV head otherwise.
    public func kvBytesPerTokenPerLayer(in ref: KVRef) -> Int {
        guard case .heads(_, let n, _) = ref else { return kvBytesPerTokenPerLayer }
        return 2 * kvHeadsPerGroup(n) * headDim * bytesPerElement
    }
    /// Bytes of one token's attention output of one head group of `groups` for one layer (Ulysses).
    public func headOutputBytesPerTokenPerLayer(groups: Int) -> Int { heads / groups * headDim * bytesPerElement }
    /// Bytes of one token's merged attention output for one layer: `heads · headDim · bytesPerElement`
    /// (one hidden-size vector for Llama, where `heads · headDim == hidden`).
    public var mergedBytesPerToken: Int { heads * headDim * bytesPerElement }
    /// Bytes of one token id on the wire (`Int32`).
    public static let tokenIDBytes = 4

    /// The accepted range of each dimension. The upper bounds are about 8× the largest published
    /// dense models (Llama-3.1-405B: 126 layers, hidden 16384, 128 heads, ffn 53248, vocab 128256), so
    /// any real model fits, while every size derived from them (parameters, bytes per token, FLOPs at
    /// `InputLimits.contextTokens`) stays far inside `Int64` (Docs/Limits.md).
    public static let limits = (
        layers: 1...1024, hidden: 1...131_072, heads: 1...1024, headDim: 1...1024, ffn: 1...524_288,
        vocab: 1...4_194_304)

    /// Checks every dimension against ``limits``, `bytesPerElement` is 2 or 4 and `heads` is a multiple
    /// of `kvHeads`.
    /// - Throws: ``PlanError`` naming the field, its value and what was expected.
    public func validate() throws(PlanError) {
        let fields: [(String, Int, ClosedRange<Int>)] = [
            ("layers", layers, Self.limits.layers), ("hidden", hidden, Self.limits.hidden),
            ("heads", heads, Self.limits.heads), ("kvHeads", kvHeads, Self.limits.heads),
            ("headDim", headDim, Self.limits.headDim), ("ffn", ffn, Self.limits.ffn), ("vocab", vocab, Self.limits.vocab),
        ]
        for (name, value, range) in fields where !range.contains(value) {
            throw PlanError(.invalid(
                owner: "ModelShape", field: name, value: value, expected: "\(range.lowerBound)...\(range.upperBound)"))
        }
        if bytesPerElement != 2 && bytesPerElement != 4 {
            throw PlanError(
                .invalid(
                    owner: "ModelShape", field: "bytesPerElement", value: bytesPerElement,
                    expected: "2 (bf16) or 4 (f32)"))
        }
        if heads % kvHeads != 0 {
            throw PlanError(
                .invalid(
                    owner: "ModelShape", field: "heads", value: heads,
                    expected: "a multiple of kvHeads (\(kvHeads))"))
        }
    }

    public var description: String {
        "ModelShape(layers: \(layers), hidden: \(hidden), heads: \(heads), kvHeads: \(kvHeads), "
            + "headDim: \(headDim), ffn: \(ffn), vocab: \(vocab), bytesPerElement: \(bytesPerElement))"
    }
}
