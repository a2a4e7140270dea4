import Foundation
import GGUF
import Kernels
import Llama
import Testing
import TestSupport
import Tokenizer

/// Tests on random-weight TinyLlama models written by the test itself (no download).
@Suite struct TinyModelTests {
    let model = Support.tiny.model
    var config: LlamaConfig { model.config }

    /// All-row logits of one forward, as `[rows][vocab]`.
    func allLogits(_ tokens: [Int32], _ positions: [Int32], chunk: Int, model: LlamaModel? = nil) throws -> [[Float]] {
        let m = model ?? self.model
        var hook = GlobalAttention(config: m.config)
        return try m.forward(tokens: tokens, positions: positions, hook: &hook,
                             logitRows: Array(tokens.indices), chunkSize: chunk)
    }

    @Test func configIsReadFromMetadata() throws {
        #expect(config == TinyLlama.testConfig)
        #expect(model.weightBytes == config.parameterCount * 4)
        #expect(model.loadSeconds >= 0)
        // Codable uses the Hugging Face config.json names.
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        #expect(json.contains("\"num_key_value_heads\":2") && json.contains("\"rope_theta\":10000"))
        #expect(try JSONDecoder().decode(LlamaConfig.self, from: Data(json.utf8)) == config)
    }

    @Test func batchEqualsChunkedEqualsTokenByToken() throws {
        let n = 45
        let tokens = Support.randomTokens(n, vocabulary: config.vocabularySize, seed: 1)
        let positions = (0..<Int32(n)).map { $0 }
        let batch = try allLogits(tokens, positions, chunk: 1000)
        let chunked = try allLogits(tokens, positions, chunk: 7)
        var hook = GlobalAttention(config: config)
        var stepwise: [[Float]] = []
        for i in 0..<n {
            stepwise.append(try model.forward(tokens: [tokens[i]], positions: [positions[i]], hook: &hook))
        }
        #expect(hook.cache.count == n)
        var dChunk = 0.0, dStep = 0.0
        for i in 0..<n {
            dChunk = max(dChunk, maxAbsDifference(batch[i], chunked[i]))
            dStep = max(dStep, maxAbsDifference(batch[i], stepwise[i]))
        }
        #expect(dChunk <= 1e-4, "batch vs chunks of 7: max |Δlogit| = \(dChunk)")
        #expect(dStep <= 1e-4, "batch vs token-by-token: max |Δlogit| = \(dStep)")
        // The logits are not degenerate (so the comparison means something).
        let spread = batch[n - 1].max()! - batch[n - 1].min()!
        #expect(spread > 1, "logit spread \(spread)")
    }

    @Test(arguments: [GGMLType.f32, .q4_1])
    func matchesNaiveDoubleReference(type: GGMLType) throws {
        let path = try Support.writeTiny(seed: 7, type: type)
        let m = try LlamaModel(path: path)
        let reference = try NaiveLlama(path: path)
        let tokens = Support.randomTokens(20, vocabulary: m.config.vocabularySize, seed: 3)
        // Non-contiguous positions (a jump, as in Star Attention's anchor + block) exercise the rule.
        let positions: [Int32] = (0..<10).map { $0 } + (0..<10).map { 40 + $0 }
        let ours = try allLogits(tokens, positions, chunk: 6, model: m)
        let theirs = reference.forward(tokens: tokens, positions: positions)
        var d = 0.0
        for i in tokens.indices { d = max(d, maxAbsDifference(ours[i], theirs[i])) }
        #expect(d <= 1e-3, "\(type): max |Δlogit| vs Double reference = \(d)")
    }

    @Test func untiedHeadIsLoadedAndUsed() throws {
        var c = TinyLlama.testConfig
        c.tiedEmbeddings = false
        c.layerCount = 1
        let path = try Support.writeTiny(c, seed: 11)
        let m = try LlamaModel(path: path)
        #expect(m.config.tiedEmbeddings == false)
        let tokens: [Int32] = [5, 17, 200, 3]
        let positions: [Int32] = [0, 1, 2, 3]
        let ours = try allLogits(tokens, positions, chunk: 100, model: m)
        let theirs = try NaiveLlama(path: path).forward(tokens: tokens, positions: positions)
        #expect(maxAbsDifference(ours[3], theirs[3]) <= 1e-3)
    }

    @Test func ropeIsRelative() throws {
        let n = 24
        let tokens = Support.randomTokens(n, vocabulary: config.vocabularySize, seed: 5)
        let base = (0..<Int32(n)).map { $0 }
        let a = try allLogits(tokens, base, chunk: 8)
        let shifted = try allLogits(tokens, base.map { $0 + 100 }, chunk: 8)
        var same = 0.0
        for i in 0..<n { same = max(same, maxAbsDifference(a[i], shifted[i])) }
        #expect(same <= 1e-3, "all positions +100: max |Δlogit| = \(same)")
        // A gap changes relative distances, so it must change the logits after the gap.
        let gapped = base.map { $0 < 12 ? $0 : $0 + 30 }
        let b = try allLogits(tokens, gapped, chunk: 8)
        #expect(maxAbsDifference(a[5], b[5]) <= 1e-4, "rows before the gap are unaffected")
        #expect(maxAbsDifference(a[n - 1], b[n - 1]) > 1e-2, "positions must matter")
    }

    @Test func layerSteppedAPIComposesToForward() throws {
        let tokens: [Int32] = [1, 40, 41, 42, 2, 100]
        let positions: [Int32] = [0, 1, 2, 3, 4, 5]
        var hidden = try model.embed(tokens)
        #expect(hidden.count == tokens.count * config.hiddenSize)
        var hook = GlobalAttention(config: config)
        for layer in 0..<config.layerCount {
            let qkv = model.attentionInputs(layer: layer, hidden: hidden, positions: positions)
            #expect(qkv.q.count == 6 * config.queryWidth && qkv.k.count == 6 * config.kvWidth && qkv.count == 6)
            let out = hook.attend(layer: layer, qkv)
            #expect(out.lse.count == 6 * config.headCount)
            model.finishLayer(layer: layer, hidden: &hidden, attention: out.output)
        }
        let stepped = model.logits(hidden: hidden, row: 5)
        var hook2 = GlobalAttention(config: config)
        let composed = try model.forward(tokens: tokens, positions: positions, hook: &hook2)
        #expect(maxAbsDifference(stepped, composed) == 0)
        // Several rows at once equal the single-row head.
        let two = model.logits(hidden: hidden, rows: [5, 2])
        // (one row goes through sgemv, two through sgemm: equal up to summation order)
        #expect(maxAbsDifference(Array(two[0..<config.vocabularySize]), stepped) <= 1e-5)
    }

    @Test func generateIsGreedyAndStops() throws {
        let prompt: [Int32] = [1, 80, 81, 82]
        var hook = GlobalAttention(config: config)
        var seen: [Int] = []
        let out = try model.generate(prompt: prompt, maxTokens: 6, stopAt: [], hook: &hook) { seen.append($0) }
        #expect(out.count == 6 && seen == [1, 2, 3, 4, 5, 6])
        // Same tokens by hand: arg-max of the all-row logits of prompt + generated.
        let all = prompt + out
        let logits = try allLogits(all, (0..<Int32(all.count)).map { $0 }, chunk: 100)
        for i in 0..<6 {
            #expect(LlamaModel.argmax(logits[prompt.count - 1 + i]) == out[i])
        }
        // Stopping at the 3rd generated token returns the two before it.
        var hook2 = GlobalAttention(config: config)
        let stopped = try model.generate(prompt: prompt, maxTokens: 6, stopAt: [out[2]], hook: &hook2)
        #expect(stopped == Array(out.prefix(while: { $0 != out[2] })))
        #expect(hook.cache.count == prompt.count + 5)
    }

    @Test func kvCacheAppendRemoveAndBytes() {
        var cache = KVCache(layerCount: 2, rowWidth: 4, reservingTokens: 8)
        #expect(cache.count == 0 && cache.byteCount == 0)
        for layer in 0..<2 {
            cache.append(layer: layer, k: (0..<12).map(Float.init), v: (0..<12).map { Float(-$0) }, positions: [0, 1, 7])
        }
        #expect(cache.count == 3 && cache.byteCount == 2 * (2 * 12 * 4 + 3 * 4))
        cache.removeFirst(2)
        #expect(cache.positions[1] == [7] && cache.keys[0] == [8, 9, 10, 11] && cache.values[1] == [-8, -9, -10, -11])
        cache.removeAll()
        #expect(cache.count == 0)
    }

    // MARK: - Errors

    @Test func inputErrors() throws {
        var hook = GlobalAttention(config: config)
        #expect(throws: ModelError.self) { try model.forward(tokens: [], positions: [], hook: &hook) }
        do {
            _ = try model.forward(tokens: [], positions: [], hook: &hook)
        } catch let e as ModelError {
            #expect(e.description.contains("empty prompt"))
        }
        let long = [Int32](repeating: 5, count: config.contextLength + 1)
        do {
            _ = try model.forward(tokens: long, positions: (0..<Int32(long.count)).map { $0 }, hook: &hook)
            Issue.record("too long prompt accepted")
        } catch let e as ModelError {
            #expect(e.description == "prompt of 513 tokens is longer than the model context of 512 tokens")
        }
        do {
            _ = try model.forward(tokens: [3, 259], positions: [0, 1], hook: &hook)
            Issue.record("token 259 accepted")
        } catch let e as ModelError {
            #expect(e.description.contains("token id 259 (token 1) is out of range: vocabulary has 259 ids"))
        }
        do {
            _ = try model.forward(tokens: [3], positions: [512], hook: &hook)
            Issue.record("position 512 accepted")
        } catch let e as ModelError {
            #expect(e.description.contains("position 512 (token 0) is beyond the model context of 512"))
        }
        do {
            _ = try model.forward(tokens: [3, 4], positions: [0], hook: &hook)
            Issue.record("count mismatch accepted")
        } catch let e as ModelError {
            #expect(e.description.contains("2 tokens but 1 positions"))
        }
        #expect(hook.cache.count == 0, "rejected input must not touch the cache")
    }

    @Test func missingTensorIsNamed() throws {
        let path = try Support.rewrite(Support.tiny.path, dropTensors: ["blk.1.ffn_down.weight"])
        let message = Support.loadError(path)
        #expect(message == "\(path): missing tensor 'blk.1.ffn_down.weight'")
    }

    @Test func wrongShapeIsNamed() throws {
        let wrong = [Float](repeating: 0.01, count: 64 * 48)
        let path = try Support.rewrite(Support.tiny.path, replaceTensors: ["blk.0.attn_k.weight": ([64, 48], wrong)])
        let message = Support.loadError(path)
        #expect(message == "\(path): tensor 'blk.0.attn_k.weight' has dimensions [64, 48], expected [64, 32] (ggml order [in, out])")
    }

    @Test func notLlamaIsRejected() throws {
        let path = try Support.rewrite(Support.tiny.path, setKeys: ["general.architecture": .string("qwen2")])
        let message = Support.loadError(path)
        #expect(message == "\(path): general.architecture is 'qwen2', expected 'llama' (only Llama-family models are supported)")
    }

    @Test func missingMetadataKeyIsNamed() throws {
        let path = try Support.rewrite(Support.tiny.path, dropKeys: ["llama.attention.head_count_kv"])
        let message = Support.loadError(path)
        #expect(message == "\(path): missing metadata key 'llama.attention.head_count_kv' (required for a llama model)")
    }

    @Test func tinyWriterRejectsTooSmallVocabulary() {
        var c = TinyLlama.testConfig
        c.vocabularySize = 100
        #expect(throws: ModelError.self) { try TinyLlama.write(config: c, seed: 1, to: Support.temporaryPath("x")) }
    }
}

/// The tokenizer metadata TinyLlama writes is a loadable byte-level vocabulary.
@Suite struct TinyTokenizerTests {
    @Test func tinyVocabularyRoundTrips() throws {
        let file = try GGUFFile(path: Support.tiny.path)
        let tokenizer = try BPETokenizer(gguf: file)
        #expect(tokenizer.vocabularySize == 259)
        #expect(tokenizer.tokenID("<|im_end|>") == 2 && tokenizer.tokenID("<|im_start|>") == 1)
        let text = "Hi there, 42 é!\n"
        let ids = tokenizer.encode("<|im_start|>" + text)
        #expect(ids.first == 1 && ids.count == 1 + Array(text.utf8).count)  // no merges: one id per byte
        #expect(tokenizer.decode(ids) == "<|im_start|>" + text)
        // And the model accepts every id the tokenizer produces.
        var hook = GlobalAttention(config: Support.tiny.model.config)
        _ = try Support.tiny.model.forward(tokens: ids, positions: (0..<Int32(ids.count)).map { $0 }, hook: &hook)
    }
}
