import ConfigFiles
import DistributedAttention
import Foundation
import GGUF

/// A Llama-family model as the projection sees it: its shape (from `DistributedAttention`, shared
/// with the host programs), its parameter count and the bytes its weights occupy in device memory.
///
/// Parameter count (SwiGLU decoder, RMSNorm, no biases):
/// `vocab·hidden` (embedding) + `layers · (hidden·(heads+2·kvHeads)·headDim + heads·headDim·hidden
/// + 3·hidden·ffn + 2·hidden)` + `hidden` (final norm) + `vocab·hidden` unless the output head is tied
/// to the embedding. Llama-3.1-8B: 8,030,261,248; 70B: 70,553,706,496; 405B: 405,853,388,800.
public struct ModelSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Catalog name, e.g. `llama-3.1-8b`.
    public var name: String
    /// Shapes; `shape.bytesPerElement` is the activation / KV element size (2 = bf16, 4 = f32).
    public var shape: ModelShape
    /// True when the output head reuses the token embedding (no separate `vocab × hidden` matrix).
    public var tiedEmbeddings: Bool
    /// Bytes per weight element in device memory (2 for bf16; 4 when quantized weights are
    /// dequantized to f32 as the real SmolLM2 runs here do).
    public var weightBytesPerParameter: Double

    public init(name: String, shape: ModelShape, tiedEmbeddings: Bool, weightBytesPerParameter: Double? = nil) {
        self.name = name
        self.shape = shape
        self.tiedEmbeddings = tiedEmbeddings
        self.weightBytesPerParameter = weightBytesPerParameter ?? Double(shape.bytesPerElement)
    }

    /// Weights of one decoder layer (Q, K, V, O, gate, up, down, two RMSNorm vectors).
    public var parametersPerLayer: Int {
        let s = shape
        let qkv = s.hidden * (s.heads + 2 * s.kvHeads) * s.headDim
        let o = s.heads * s.headDim * s.hidden
        return qkv + o + 3 * s.hidden * s.ffn + 2 * s.hidden
    }

    /// Embedding matrix `[vocab, hidden]`.
    public var embeddingParameters: Int { shape.vocab * shape.hidden }

    /// Output head `[vocab, hidden]` (0 when tied) plus the final norm.
    public var headParameters: Int { (tiedEmbeddings ? 0 : shape.vocab * shape.hidden) + shape.hidden }

    /// Total parameters.
    public var parameterCount: Int { embeddingParameters + shape.layers * parametersPerLayer + headParameters }

    /// Bytes of all weights in device memory: `parameterCount · weightBytesPerParameter`.
    public var weightBytes: Int64 { Int64((Double(parameterCount) * weightBytesPerParameter).rounded()) }

    /// Bytes of one layer's weights.
    public var weightBytesPerLayer: Int64 { Int64((Double(parametersPerLayer) * weightBytesPerParameter).rounded()) }

    /// K and V of one token over all layers: `layers · 2 · kvHeads · headDim · bytesPerElement`.
    public var kvBytesPerToken: Int64 { Int64(shape.layers) * Int64(shape.kvBytesPerTokenPerLayer) }

    public var description: String {
        let b = Double(parameterCount) / 1e9
        return "\(name): \(String(format: "%.2f", b))B parameters, \(shape), tied embeddings: \(tiedEmbeddings)"
    }
}

// MARK: - Built-in catalog

extension ModelSpec {
    /// SmolLM2-135M-Instruct as executed here (f32 weights and activations after dequantization).
    public static let smolLM2_135M = ModelSpec(name: "smollm2-135m", shape: .smolLM2_135M, tiedEmbeddings: true)
    /// Llama-3.1-8B in bf16 (hidden 4096, 32 layers, 32 heads, 8 KV heads, FFN 14336, vocab 128256).
    public static let llama31_8B = ModelSpec(name: "llama-3.1-8b", shape: .llama31_8B, tiedEmbeddings: false)
    /// Llama-3.1-70B in bf16 (hidden 8192, 80 layers, 64 heads, 8 KV heads, FFN 28672).
    public static let llama31_70B = ModelSpec(name: "llama-3.1-70b", shape: .llama31_70B, tiedEmbeddings: false)
    /// Llama-3.1-405B in bf16 (hidden 16384, 126 layers, 128 heads, 8 KV heads, FFN 53248).
    public static let llama31_405B = ModelSpec(
        name: "llama-3.1-405b",
        shape: ModelShape(
            layers: 126, hidden: 16_384, heads: 128, kvHeads: 8, headDim: 128, ffn: 53_248, vocab: 128_256,
            bytesPerElement: 2),
        tiedEmbeddings: false)

    /// Every built-in model, in catalog order.
    public static let builtIn: [ModelSpec] = [smolLM2_135M, llama31_8B, llama31_70B, llama31_405B]

    /// A built-in model by name (case-insensitive).
    /// - Throws: ``ProjectionError`` listing the known names.
    public static func named(_ name: String) throws(ProjectionError) -> ModelSpec {
        if let m = builtIn.first(where: { $0.name.lowercased() == name.lowercased() }) { return m }
        throw ProjectionError(.unknownName(kind: "model", name: name, known: builtIn.map(\.name)))
    }
}

// MARK: - Loaders

extension ModelSpec {
    /// Reads the shape from a GGUF file's `llama.*` metadata: `llama.embedding_length`,
    /// `llama.block_count`, `llama.attention.head_count`, `llama.attention.head_count_kv`
    /// (default: head count), `llama.feed_forward_length`, `llama.attention.key_length`
    /// (default: hidden / heads), vocabulary from `llama.vocab_size` or the length of
    /// `tokenizer.ggml.tokens`. Tied embeddings when there is no `output.weight` tensor.
    /// - Parameters:
    ///   - bytesPerElement: activation / KV element size; default 4 (f32, as executed here).
    ///   - weightBytesPerParameter: default `bytesPerElement` (weights dequantized on load).
    /// - Throws: ``ProjectionError`` naming the file and the missing key.
    public init(
        gguf: GGUFFile, name: String? = nil, bytesPerElement: Int = 4, weightBytesPerParameter: Double? = nil
    ) throws(ProjectionError) {
        let file = gguf.path
        func int(_ key: String) throws(ProjectionError) -> Int? {
            guard let v = gguf.metadata[key] else { return nil }
            guard let i = v.intValue else {
                throw ProjectionError(.invalidField(file: file, field: key, value: "\(v)", expected: "an integer"))
            }
            return i
        }
        func required(_ key: String) throws(ProjectionError) -> Int {
            guard let v = try int(key) else {
                throw ProjectionError(.missingField(file: file, field: key, expected: "an integer (llama GGUF metadata)"))
            }
            return v
        }
        let hidden = try required("llama.embedding_length")
        let layers = try required("llama.block_count")
        let heads = try required("llama.attention.head_count")
        let kvHeads = try int("llama.attention.head_count_kv") ?? heads
        let ffn = try required("llama.feed_forward_length")
        let headDim = try int("llama.attention.key_length") ?? (heads > 0 ? hidden / heads : 0)
        var vocab = try int("llama.vocab_size")
        if vocab == nil, let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.arrayValue { vocab = tokens.count }
        guard let vocab else {
            throw ProjectionError(
                .missingField(
                    file: file, field: "llama.vocab_size",
                    expected: "an integer, or a tokenizer.ggml.tokens array to count"))
        }
        let shape = ModelShape(
            layers: layers, hidden: hidden, heads: heads, kvHeads: kvHeads, headDim: headDim, ffn: ffn,
            vocab: vocab, bytesPerElement: bytesPerElement)
        try Self.check(shape, file: file)
        let baseName = (file as NSString).lastPathComponent
        self.init(
            name: name ?? baseName, shape: shape, tiedEmbeddings: gguf.tensor(named: "output.weight") == nil,
            weightBytesPerParameter: weightBytesPerParameter)
    }

    /// Reads a Hugging Face `config.json`: `hidden_size`, `num_hidden_layers`,
    /// `num_attention_heads`, `intermediate_size`, `vocab_size` (required);
    /// `num_key_value_heads` (default: `num_attention_heads`, as in transformers),
    /// `head_dim` (default: `hidden_size / num_attention_heads`), `tie_word_embeddings` (default false).
    /// - Parameter bytesPerElement: default 2 (bf16).
    /// - Throws: ``ProjectionError`` naming the file and the missing or invalid field.
    public init(
        huggingFaceConfig path: String, name: String? = nil, bytesPerElement: Int = 2
    ) throws(ProjectionError) {
        let data: Data
        do { data = try InputFile.read(path, limit: 4 << 20, expected: "a config.json") } catch {
            throw ProjectionError(.unreadable(file: path, reason: error.message))
        }
        let config: HuggingFaceConfig
        do {
            config = try JSONDecoder().decode(HuggingFaceConfig.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ProjectionError(
                .invalidField(file: path, field: field, value: "of another type", expected: "a value of type \(type)"))
        } catch {
            throw ProjectionError(.unreadable(file: path, reason: "not a JSON object of model fields: \(error)"))
        }
        func required(_ key: String, _ value: Int?) throws(ProjectionError) -> Int {
            guard let value else {
                throw ProjectionError(.missingField(file: path, field: key, expected: "an integer"))
            }
            return value
        }
        let hidden = try required("hidden_size", config.hidden_size)
        let layers = try required("num_hidden_layers", config.num_hidden_layers)
        let heads = try required("num_attention_heads", config.num_attention_heads)
        let ffn = try required("intermediate_size", config.intermediate_size)
        let vocab = try required("vocab_size", config.vocab_size)
        let kvHeads = config.num_key_value_heads ?? heads
        let headDim = config.head_dim ?? (heads > 0 ? hidden / heads : 0)
        let tied = config.tie_word_embeddings ?? false
        let shape = ModelShape(
            layers: layers, hidden: hidden, heads: heads, kvHeads: kvHeads, headDim: headDim, ffn: ffn,
            vocab: vocab, bytesPerElement: bytesPerElement)
        try Self.check(shape, file: path)
        let defaultName = config._name_or_path ?? ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
        self.init(name: name ?? defaultName, shape: shape, tiedEmbeddings: tied)
    }

    static func check(_ shape: ModelShape, file: String) throws(ProjectionError) {
        do {
            try shape.validate()
        } catch {
            throw ProjectionError(.config("\(file): \(error)"))
        }
    }
}

/// The fields of a Hugging Face `config.json` the projection reads (others are ignored: a
/// config.json carries many unrelated fields).
private struct HuggingFaceConfig: Decodable {
    var hidden_size: Int?
    var num_hidden_layers: Int?
    var num_attention_heads: Int?
    var num_key_value_heads: Int?
    var intermediate_size: Int?
    var vocab_size: Int?
    var head_dim: Int?
    var tie_word_embeddings: Bool?
    var _name_or_path: String?
}
