import DistributedAttention
import Foundation
import GGUF
import Projection
import Testing
import TestSupport

@Suite("Model catalog")
struct ModelCatalogTests {
    @Test("Built-in shapes are the published configs")
    func builtInShapes() throws {
        let m8 = try ModelSpec.named("llama-3.1-8b").shape
        #expect([m8.hidden, m8.layers, m8.heads, m8.kvHeads, m8.ffn, m8.vocab, m8.headDim] as [Int] == [4096, 32, 32, 8, 14_336, 128_256, 128])
        let m70 = try ModelSpec.named("llama-3.1-70b").shape
        #expect([m70.hidden, m70.layers, m70.heads, m70.kvHeads, m70.ffn, m70.headDim] as [Int] == [8192, 80, 64, 8, 28_672, 128])
        let m405 = try ModelSpec.named("LLAMA-3.1-405B").shape
        #expect([m405.hidden, m405.layers, m405.heads, m405.kvHeads, m405.ffn, m405.headDim] as [Int] == [16_384, 126, 128, 8, 53_248, 128])
        let smol = try ModelSpec.named("smollm2-135m")
        #expect(smol.shape == .smolLM2_135M && smol.tiedEmbeddings)
    }

    @Test("Parameter counts match the published totals")
    func parameterCounts() throws {
        // Independent references: Meta / HF model cards (8.03B, 70.6B, 405.9B), SmolLM2 134,515,008.
        #expect(ModelSpec.smolLM2_135M.parameterCount == 134_515_008)
        #expect(relativeDifference(Double(ModelSpec.llama31_8B.parameterCount), 8.03e9) < 0.002)
        #expect(relativeDifference(Double(ModelSpec.llama31_70B.parameterCount), 70.6e9) < 0.002)
        #expect(relativeDifference(Double(ModelSpec.llama31_405B.parameterCount), 405.9e9) < 0.002)
        // bf16 weights of the 8B ≈ 16 GB; SmolLM2 as f32 ≈ 538 MB (PLATFORM.md).
        #expect(relativeDifference(Double(ModelSpec.llama31_8B.weightBytes), 16.06e9) < 0.005)
        #expect(relativeDifference(Double(ModelSpec.smolLM2_135M.weightBytes), 538e6) < 0.001)
    }

    @Test("Unknown model names list the known ones")
    func unknownModel() {
        expectProjectionError(["llama-4", "llama-3.1-8b", "llama-3.1-405b", "smollm2-135m"]) { _ = try ModelSpec.named("llama-4") }
    }

    @Test("HF config.json of Llama-3.1-8B gives the built-in shape")
    func huggingFaceConfig() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let file = try dir.write("Meta-Llama-3.1-8B/config.json", """
            {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
             "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
             "rope_theta": 500000.0, "torch_dtype": "bfloat16", "vocab_size": 128256, "tie_word_embeddings": false}
            """)
        let spec = try ModelSpec(huggingFaceConfig: file)
        #expect(spec.shape == ModelSpec.llama31_8B.shape)
        #expect(spec.parameterCount == ModelSpec.llama31_8B.parameterCount)
        #expect(spec.name == "Meta-Llama-3.1-8B")
        // Defaults: kv heads = heads, head_dim = hidden / heads, untied.
        let mha = try dir.write("mha.json", #"{"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100, "head_dim": 32, "tie_word_embeddings": true}"#)
        let m = try ModelSpec(huggingFaceConfig: mha, name: "tiny")
        #expect(m.shape.kvHeads == 4 && m.shape.headDim == 32 && m.tiedEmbeddings && m.name == "tiny")
    }

    @Test("HF config.json errors name the file and the field")
    func huggingFaceConfigErrors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let missing = try dir.write("missing.json", #"{"hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 32, "vocab_size": 128256}"#)
        expectProjectionError(["missing.json", "intermediate_size", "missing"]) { _ = try ModelSpec(huggingFaceConfig: missing) }
        let wrongType = try dir.write("wrong.json", #"{"hidden_size": "big", "intermediate_size": 1, "num_attention_heads": 1, "num_hidden_layers": 1, "vocab_size": 1}"#)
        expectProjectionError(["wrong.json", "hidden_size"]) { _ = try ModelSpec(huggingFaceConfig: wrongType) }
        let badHeads = try dir.write("heads.json", #"{"hidden_size": 64, "intermediate_size": 1, "num_attention_heads": 6, "num_key_value_heads": 4, "num_hidden_layers": 1, "vocab_size": 1}"#)
        expectProjectionError(["heads.json", "heads", "multiple of kvHeads"]) { _ = try ModelSpec(huggingFaceConfig: badHeads) }
        expectProjectionError(["nowhere.json"]) { _ = try ModelSpec(huggingFaceConfig: "\(dir.path)/nowhere.json") }
    }

    @Test("GGUF llama.* metadata gives the shape; a missing key is named")
    func ggufMetadata() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        func write(_ name: String, skip: String? = nil, output: Bool = false) throws -> String {
            var w = GGUFWriter()
            let keys: [(String, GGUFValue)] = [
                ("general.architecture", .string("llama")), ("llama.embedding_length", .uint32(64)),
                ("llama.block_count", .uint32(3)), ("llama.attention.head_count", .uint32(4)),
                ("llama.attention.head_count_kv", .uint32(2)), ("llama.feed_forward_length", .uint32(96)),
                ("llama.vocab_size", .uint32(50)),
            ]
            for (k, v) in keys where k != skip { w.set(k, v) }
            try w.addTensor(name: "token_embd.weight", dimensions: [64, 50], type: .f32, values: Array(repeating: 0, count: 3200))
            if output {
                try w.addTensor(name: "output.weight", dimensions: [64, 50], type: .f32, values: Array(repeating: 0, count: 3200))
            }
            let path = "\(dir.path)/\(name).gguf"
            try w.write(to: path)
            return path
        }
        let tied = try ModelSpec(gguf: GGUFFile(path: try write("tied")))
        #expect(tied.shape == ModelShape(layers: 3, hidden: 64, heads: 4, kvHeads: 2, headDim: 16, ffn: 96, vocab: 50, bytesPerElement: 4))
        #expect(tied.tiedEmbeddings)
        #expect(try !ModelSpec(gguf: GGUFFile(path: try write("untied", output: true))).tiedEmbeddings)
        let noFFN = try GGUFFile(path: try write("noffn", skip: "llama.feed_forward_length"))
        expectProjectionError(["noffn.gguf", "llama.feed_forward_length", "missing"]) { _ = try ModelSpec(gguf: noFFN) }
    }

    @Test("The real SmolLM2 GGUF gives the catalog shape", .enabled(if: realModelPath() != nil || requireModel))
    func realModel() throws {
        guard let path = realModelPath() else {
            Issue.record("STARSIM_REQUIRE_MODEL=1 but the SmolLM2 GGUF was not found")
            return
        }
        let spec = try ModelSpec(gguf: GGUFFile(path: path), name: "smollm2-135m")
        #expect(spec == ModelSpec.smolLM2_135M)
    }
}

let requireModel = RealModelFile.required

/// The real SmolLM2 file when present (`TestSupport.RealModelFile`).
func realModelPath() -> String? { RealModelFile.present ? RealModelFile.path : nil }
