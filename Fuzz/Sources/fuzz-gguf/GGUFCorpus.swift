import FuzzSupport
import GGUF

/// The seed corpus of `fuzz-gguf`, written with the project's `GGUFWriter`: a tiny Llama with a
/// tokenizer and a chat template (Q4_1, and Q4_0 with an untied head), one file per type the writer
/// can quantize (F32, F16, Q8_0, Q4_0, Q4_1), types it cannot dequantize, every metadata value type,
/// alignments 1 and 64, a version-2 header, an empty file and truncations. Each file is a few KB.
enum GGUFCorpus {
    static func write(to dir: String) throws {
        func save(_ name: String, _ bytes: [UInt8]) { ScratchFile.writeFile("\(dir)/\(name)", bytes) }

        let llama = try tinyLlama(type: .q4_1, tied: true).serialized()
        save("llama-q4_1.gguf", llama)
        save("llama-q4_0-untied.gguf", try tinyLlama(type: .q4_0, tied: false).serialized())
        for type in [GGMLType.f32, .f16, .q8_0, .q4_0, .q4_1] {
            var w = GGUFWriter()
            w.set("general.name", .string("tensors of type \(type.name)"))
            try w.addTensor(name: "vector", dimensions: [64], type: type, values: ramp(64))
            try w.addTensor(name: "matrix", dimensions: [32, 3], type: type, values: ramp(96))
            try w.addTensor(name: "empty", dimensions: [32, 0], type: type, values: [])
            save("type-\(type.name.lowercased()).gguf", try w.serialized())
        }

        var raw = GGUFWriter()
        for type in [GGMLType.q5_0, .q6_K, .bf16, .i32, .iq4_nl, .tq2_0] {
            try raw.addRawTensor(name: "raw.\(type.name)", dimensions: [type.blockSize, 2], type: type,
                                 bytes: (0..<2 * type.blockBytes).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        }
        save("types-not-dequantized.gguf", try raw.serialized())

        var meta = GGUFWriter()
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-100)), ("u16", .uint16(60_000)), ("i16", .int16(-30_000)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000)), ("f32", .float32(1e-5)),
            ("bool", .bool(true)), ("string", .string("héllo <|im_end|>")), ("u64", .uint64(.max)),
            ("i64", .int64(.min)), ("f64", .float64(-0.0)), ("ints", .array([.int32(1), .int32(-2)])),
            ("strings", .array([.string("a"), .string("")])), ("floats", .array([.float32(.nan), .float32(2)])),
            ("nested", .array([.array([.uint8(1)]), .array([])])), ("empty", .array([])),
        ]
        for (k, v) in values { meta.set("test.\(k)", v) }
        save("metadata-all-types.gguf", try meta.serialized())

        for alignment in [1, 64] {
            var w = GGUFWriter(alignment: alignment)
            try w.addTensor(name: "a", dimensions: [3], type: .f32, values: ramp(3))
            try w.addTensor(name: "b", dimensions: [32], type: .q8_0, values: ramp(32))
            save("alignment-\(alignment).gguf", try w.serialized())
        }

        var version2 = try GGUFWriter().serialized()
        version2[4] = 2
        save("version-2-empty.gguf", version2)
        save("empty.gguf", try GGUFWriter().serialized())
        for cut in [8, 24, 300, llama.count / 2, llama.count - 7] {
            save("llama-q4_1-truncated-\(cut).gguf", Array(llama[..<cut]))
        }
    }

    /// `n` values from -1 to 1.
    static func ramp(_ n: Int) -> [Float] {
        (0..<n).map { n == 1 ? 0 : -1 + 2 * Float($0) / Float(n - 1) }
    }

    /// A 1-layer Llama (hidden 32, 2 heads of 16, 1 KV head, FFN 32) with a 35-token byte-level
    /// BPE vocabulary (3 control tokens, 1 user-defined, 18 byte symbols, 13 merges), SmolLM2's
    /// chat template and norms in F32.
    static func tinyLlama(type: GGMLType, tied: Bool) throws -> GGUFWriter {
        let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool>"]
        let bytes = ["a", "b", "c", "d", "e", "h", "i", "l", "o", "r", "s", "t", "w", "Ġ", "Ċ", "1", "2", "!"]
        let merges = ["t h", "th e", "Ġ t", "h e", "Ġt he", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or",
                      "Ġwor l", "Ġworl d"]
        let tokens = specials + bytes + merges.map { $0.filter { $0 != " " } }
        let types: [Int32] = [3, 3, 3, 4] + Array(repeating: 1, count: bytes.count + merges.count)
        let h = 32, heads = 2, kvHeads = 1, headDim = 16, ffn = 32, vocab = tokens.count

        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.name", .string("fuzz seed"))
        w.set("llama.context_length", .uint32(256))
        w.set("llama.embedding_length", .uint32(UInt32(h)))
        w.set("llama.block_count", .uint32(1))
        w.set("llama.feed_forward_length", .uint32(UInt32(ffn)))
        w.set("llama.attention.head_count", .uint32(UInt32(heads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("llama.attention.key_length", .uint32(UInt32(headDim)))
        w.set("llama.rope.dimension_count", .uint32(UInt32(headDim)))
        w.set("llama.rope.freq_base", .float32(10_000))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("llama.vocab_size", .uint32(UInt32(vocab)))
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string(tied ? "smollm" : "gpt2"))
        w.set("tokenizer.ggml.tokens", .array(tokens.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(types.map { .int32($0) }))
        w.set("tokenizer.ggml.merges", .array(merges.map { .string($0) }))
        w.set("tokenizer.ggml.bos_token_id", .uint32(1))
        w.set("tokenizer.ggml.eos_token_id", .uint32(2))
        w.set("tokenizer.chat_template", .string(chatTemplate))

        func matrix(_ name: String, _ inDim: Int, _ outDim: Int) throws {
            try w.addTensor(name: name, dimensions: [inDim, outDim], type: type, values: ramp(inDim * outDim))
        }
        func norm(_ name: String) throws {
            try w.addTensor(name: name, dimensions: [h], type: .f32, values: Array(repeating: 1, count: h))
        }
        try matrix("token_embd.weight", h, vocab)
        try norm("blk.0.attn_norm.weight")
        try matrix("blk.0.attn_q.weight", h, heads * headDim)
        try matrix("blk.0.attn_k.weight", h, kvHeads * headDim)
        try matrix("blk.0.attn_v.weight", h, kvHeads * headDim)
        try matrix("blk.0.attn_output.weight", heads * headDim, h)
        try norm("blk.0.ffn_norm.weight")
        try matrix("blk.0.ffn_gate.weight", h, ffn)
        try matrix("blk.0.ffn_up.weight", h, ffn)
        try matrix("blk.0.ffn_down.weight", ffn, h)
        try norm("output_norm.weight")
        if !tied { try matrix("output.weight", h, vocab) }
        return w
    }

    /// SmolLM2-135M-Instruct's `tokenizer.chat_template`.
    static let chatTemplate = """
        {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
        """
}
