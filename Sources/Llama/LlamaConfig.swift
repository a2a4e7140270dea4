import GGUF

/// Hyper-parameters of a Llama-family decoder, read from GGUF `llama.*` metadata.
///
/// Coding keys are the Hugging Face `config.json` field names (`hidden_size`, `num_key_value_heads`,
/// …) so a config can be written and read in the checkpoint's own vocabulary.
///
/// SmolLM2-135M: hidden 576, FFN 1536, 30 layers, 9 heads, 3 KV heads, head dim 64, vocabulary 49,152,
/// context 8192, RoPE base 100000, RMSNorm ε 1e-5, tied embeddings.
public struct LlamaConfig: Codable, Sendable, Hashable {
    /// Width of the residual stream (`llama.embedding_length`).
    public var hiddenSize: Int
    /// Width of the SwiGLU hidden layer (`llama.feed_forward_length`).
    public var intermediateSize: Int
    /// Number of decoder blocks (`llama.block_count`).
    public var layerCount: Int
    /// Query heads (`llama.attention.head_count`).
    public var headCount: Int
    /// Key/value heads, grouped-query attention (`llama.attention.head_count_kv`).
    public var kvHeadCount: Int
    /// Dimension of one head (`llama.rope.dimension_count`; RoPE rotates all of it).
    public var headDim: Int
    /// Number of token ids, from the `token_embd.weight` dimensions.
    public var vocabularySize: Int
    /// Maximum position + 1 the model was trained for (`llama.context_length`).
    public var contextLength: Int
    /// RoPE base θ (`llama.rope.freq_base`, default 10000 when absent as in llama.cpp).
    public var ropeBase: Double
    /// RMSNorm ε (`llama.attention.layer_norm_rms_epsilon`).
    public var rmsEpsilon: Double
    /// True when the file has no `output.weight`: logits = h · token_embdᵀ.
    public var tiedEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads"
        case kvHeadCount = "num_key_value_heads"
        case headDim = "head_dim"
        case vocabularySize = "vocab_size"
        case contextLength = "max_position_embeddings"
        case ropeBase = "rope_theta"
        case rmsEpsilon = "rms_norm_eps"
        case tiedEmbeddings = "tie_word_embeddings"
    }

    /// Memberwise initializer (used to build tiny test models).
    public init(
        hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
        headDim: Int, vocabularySize: Int, contextLength: Int, ropeBase: Double = 10000,
        rmsEpsilon: Double = 1e-5, tiedEmbeddings: Bool = true
    ) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.ropeBase = ropeBase
        self.rmsEpsilon = rmsEpsilon
        self.tiedEmbeddings = tiedEmbeddings
    }

    /// Reads the config from `llama.*` metadata of `gguf`.
    ///
    /// - Throws: `ModelError` if `general.architecture` is not `llama`, a required key is missing or
    ///   has a non-numeric value, `token_embd.weight` is missing, or the numbers are inconsistent
    ///   (heads not a multiple of KV heads, non-positive sizes, odd head dimension).
    public init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let archValue = gguf.metadata["general.architecture"] else {
            throw ModelError(.missingMetadata(path: path, key: "general.architecture"))
        }
        let arch = archValue.stringValue ?? "\(archValue)"
        guard arch == "llama" else { throw ModelError(.notLlama(path: path, architecture: arch)) }

        func int(_ key: String) throws -> Int {
            guard let v = gguf.metadata[key] else { throw ModelError(.missingMetadata(path: path, key: key)) }
            guard let i = v.intValue else {
                throw ModelError(.badMetadata(path: path, key: key, value: "\(v)", expected: "an integer"))
            }
            guard i > 0 else {
                throw ModelError(.badMetadata(path: path, key: key, value: "\(i)", expected: "a positive integer"))
            }
            return i
        }
        func double(_ key: String, default d: Double? = nil) throws -> Double {
            guard let v = gguf.metadata[key] else {
                if let d { return d }
                throw ModelError(.missingMetadata(path: path, key: key))
            }
            // A float32 value is widened through its shortest decimal spelling, so 1e-5 stored as
            // float32 reads back as 1e-5 rather than 9.99999974e-06.
            let widened: Double?
            if case let .float32(f) = v { widened = Double("\(f)") } else { widened = v.doubleValue ?? v.intValue.map(Double.init) }
            guard let x = widened, x > 0, x.isFinite else {
                throw ModelError(.badMetadata(path: path, key: key, value: "\(v)", expected: "a positive number"))
            }
            return x
        }

        hiddenSize = try int("llama.embedding_length")
        intermediateSize = try int("llama.feed_forward_length")
        layerCount = try int("llama.block_count")
        headCount = try int("llama.attention.head_count")
        kvHeadCount = try int("llama.attention.head_count_kv")
        headDim = try int("llama.rope.dimension_count")
        contextLength = try int("llama.context_length")
        // Sizes are bounded before anything is allocated from them (a corrupt or hostile file must get
        // an error, not a 343 GB allocation): the ranges of `ModelShape.limits`, and every block the
        // header announces must have its tensors in the file.
        let bounds: [(String, Int, ClosedRange<Int>)] = [
            ("llama.embedding_length", hiddenSize, 1...131_072), ("llama.feed_forward_length", intermediateSize, 1...524_288),
            ("llama.block_count", layerCount, 1...1024), ("llama.attention.head_count", headCount, 1...1024),
            ("llama.attention.head_count_kv", kvHeadCount, 1...1024), ("llama.rope.dimension_count", headDim, 1...1024),
            ("llama.context_length", contextLength, 1...(1 << 24)),
        ]
        for (key, value, range) in bounds where !range.contains(value) {
            throw ModelError(.badMetadata(path: path, key: key, value: "\(value)", expected: "\(range.lowerBound)...\(range.upperBound)"))
        }
        guard gguf.tensor(named: "blk.\(layerCount - 1).attn_norm.weight") != nil else {
            throw ModelError(.badMetadata(
                path: path, key: "llama.block_count", value: "\(layerCount)",
                expected: "the number of blocks whose tensors the file holds (no tensor blk.\(layerCount - 1).attn_norm.weight)"))
        }
        ropeBase = try double("llama.rope.freq_base", default: 10000)
        rmsEpsilon = try double("llama.attention.layer_norm_rms_epsilon")

        guard headCount % kvHeadCount == 0 else {
            throw ModelError(.badMetadata(
                path: path, key: "llama.attention.head_count_kv", value: "\(kvHeadCount)",
                expected: "a divisor of llama.attention.head_count (\(headCount))"))
        }
        guard headDim % 2 == 0 else {
            throw ModelError(.badMetadata(
                path: path, key: "llama.rope.dimension_count", value: "\(headDim)",
                expected: "an even number (RoPE rotates pairs)"))
        }
        if let keyLength = gguf.metadata["llama.attention.key_length"]?.intValue, keyLength != headDim {
            throw ModelError(.badMetadata(
                path: path, key: "llama.rope.dimension_count", value: "\(headDim)",
                expected: "equal to llama.attention.key_length (\(keyLength)); partial rotary is not supported"))
        }
        guard let embd = gguf.tensor(named: "token_embd.weight") else {
            throw ModelError(.missingTensor(path: path, name: "token_embd.weight"))
        }
        guard embd.dimensions.count == 2, embd.dimensions[0] == hiddenSize, embd.dimensions[1] > 0 else {
            throw ModelError(.wrongShape(
                path: path, name: "token_embd.weight", found: embd.dimensions, expected: [hiddenSize, -1]))
        }
        vocabularySize = embd.dimensions[1]
        tiedEmbeddings = gguf.tensor(named: "output.weight") == nil
    }

    /// Width of the fused Q,K,V projection output: `(heads + 2·kvHeads)·headDim`.
    public var qkvWidth: Int { (headCount + 2 * kvHeadCount) * headDim }
    /// Width of the query rows: `heads·headDim`.
    public var queryWidth: Int { headCount * headDim }
    /// Width of one key (or value) row: `kvHeads·headDim`.
    public var kvWidth: Int { kvHeadCount * headDim }

    /// Weights used in matrix products per token (all projections and MLPs, excluding the output
    /// head), i.e. half the FLOPs per token spent in them.
    public var matmulParametersPerToken: Int {
        layerCount * (hiddenSize * qkvWidth + queryWidth * hiddenSize + 3 * hiddenSize * intermediateSize)
    }

    /// Total parameter count as stored in f32 by `LlamaModel` (embedding, head if untied, norms).
    public var parameterCount: Int {
        let perLayer = hiddenSize * qkvWidth + queryWidth * hiddenSize + 3 * hiddenSize * intermediateSize
            + 2 * hiddenSize
        return layerCount * perLayer + vocabularySize * hiddenSize * (tiedEmbeddings ? 1 : 2) + hiddenSize
    }
}
