import GGUF
import Tokenizer

/// Writes small random-weight Llama GGUF files so tests need no download.
///
/// The file is a complete llama GGUF: `general.architecture = "llama"`, every `llama.*` key
/// `LlamaConfig` reads, all tensors with llama.cpp names and `[in, out]` dims, and a minimal
/// byte-level tokenizer (`tokenizer.ggml.model = "gpt2"`, `pre = "smollm"`): ids 0, 1, 2 are
/// `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` (as in SmolLM2), ids 3…258 the 256 byte tokens in
/// GPT-2's byte-to-unicode spelling, further ids (if the vocabulary is larger) `<|reserved_i|>`
/// control tokens; no merges.
public enum TinyLlama {
    /// Special tokens of the minimal vocabulary, in id order.
    public static let specialTokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    /// Smallest vocabulary the minimal tokenizer fits in (3 specials + 256 bytes).
    public static let minimumVocabularySize = 259

    /// A small config for tests: 2 layers, hidden 64, 4 heads / 2 KV heads of 16, FFN 96,
    /// vocabulary 259, context 512, RoPE base 10000.
    public static let testConfig = LlamaConfig(
        hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 16,
        vocabularySize: 259, contextLength: 512, ropeBase: 10000, rmsEpsilon: 1e-5, tiedEmbeddings: true)

    /// Writes a random model with `config` to `path`.
    ///
    /// Weights are uniform in ±1/√in (embedding ±1, norms 1 ± 0.2), drawn from a SplitMix64 stream
    /// seeded with `seed`, so the same arguments always give the same file. Matrices use `type`;
    /// norms are always F32. With `config.tiedEmbeddings == false` an `output.weight` is written.
    ///
    /// - Throws: `ModelError` if the vocabulary is smaller than 259 or `hiddenSize`,
    ///   `intermediateSize` or `heads·headDim` are not multiples of `type`'s block size; a wrapped
    ///   `GGUFError` message if writing fails.
    public static func write(config: LlamaConfig, seed: UInt64, to path: String, type: GGMLType = .f32) throws {
        guard config.vocabularySize >= minimumVocabularySize else {
            throw ModelError(.invalidArgument(
                "TinyLlama: vocabularySize \(config.vocabularySize) is below \(minimumVocabularySize) (3 specials + 256 bytes)"))
        }
        for (what, n) in [("hiddenSize", config.hiddenSize), ("intermediateSize", config.intermediateSize),
                          ("heads·headDim", config.queryWidth)] where n % type.blockSize != 0 {
            throw ModelError(.invalidArgument(
                "TinyLlama: \(what) \(n) is not a multiple of the \(type) block size \(type.blockSize)"))
        }
        var rng = SplitMix64(seed: seed)
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.name", .string("TinyLlama random \(seed)"))
        w.set("llama.context_length", .uint32(UInt32(config.contextLength)))
        w.set("llama.embedding_length", .uint32(UInt32(config.hiddenSize)))
        w.set("llama.block_count", .uint32(UInt32(config.layerCount)))
        w.set("llama.feed_forward_length", .uint32(UInt32(config.intermediateSize)))
        w.set("llama.attention.head_count", .uint32(UInt32(config.headCount)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(config.kvHeadCount)))
        w.set("llama.rope.dimension_count", .uint32(UInt32(config.headDim)))
        w.set("llama.rope.freq_base", .float32(Float(config.ropeBase)))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(Float(config.rmsEpsilon)))
        w.set("llama.vocab_size", .uint32(UInt32(config.vocabularySize)))

        var tokens = specialTokens
        tokens += Tokenizer.ByteLevel.byteToScalar.map { String(Character($0)) }
        var types: [Int32] = [3, 3, 3] + Array(repeating: 1, count: 256)  // 3 = control, 1 = normal
        for i in tokens.count..<config.vocabularySize {
            tokens.append("<|reserved_\(i)|>")
            types.append(3)
        }
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("smollm"))
        w.set("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(types.map { .int32($0) }))
        w.set("tokenizer.ggml.merges", .array([]))
        w.set("tokenizer.ggml.bos_token_id", .uint32(1))
        w.set("tokenizer.ggml.eos_token_id", .uint32(2))
        w.set("tokenizer.ggml.padding_token_id", .uint32(2))

        let h = config.hiddenSize, f = config.intermediateSize, v = config.vocabularySize
        func matrix(_ name: String, _ inDim: Int, _ outDim: Int, scale: Float? = nil) throws {
            let a = scale ?? 1 / Float(inDim).squareRoot()
            let values = (0..<(inDim * outDim)).map { _ in rng.uniform(-a, a) }
            do { try w.addTensor(name: name, dimensions: [inDim, outDim], type: type, values: values) } catch {
                throw ModelError(.gguf(path: path, message: "\(error)"))
            }
        }
        func norm(_ name: String) throws {
            let values = (0..<h).map { _ in 1 + rng.uniform(-0.2, 0.2) }
            do { try w.addTensor(name: name, dimensions: [h], type: .f32, values: values) } catch {
                throw ModelError(.gguf(path: path, message: "\(error)"))
            }
        }
        try matrix("token_embd.weight", h, v, scale: 1)
        for l in 0..<config.layerCount {
            let p = "blk.\(l)."
            try norm(p + "attn_norm.weight")
            try matrix(p + "attn_q.weight", h, config.queryWidth)
            try matrix(p + "attn_k.weight", h, config.kvWidth)
            try matrix(p + "attn_v.weight", h, config.kvWidth)
            try matrix(p + "attn_output.weight", config.queryWidth, h)
            try norm(p + "ffn_norm.weight")
            try matrix(p + "ffn_gate.weight", h, f)
            try matrix(p + "ffn_up.weight", h, f)
            try matrix(p + "ffn_down.weight", f, h)
        }
        try norm("output_norm.weight")
        if !config.tiedEmbeddings { try matrix("output.weight", h, v) }
        do { try w.write(to: path) } catch { throw ModelError(.gguf(path: path, message: "\(error)")) }
    }
}
