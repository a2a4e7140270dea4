import Foundation
import GGUF
import Llama
import Testing
import TestSupport
import Tokenizer

/// Locates and loads the real SmolLM2-135M-Instruct GGUF once per process.
///
/// Path: `STARSIM_MODEL`, else `$STARSIM_CACHE` (default `~/.cache/starsim`) +
/// `/SmolLM2-135M-Instruct.Q4_1.gguf`. Absent → tests disabled, unless `STARSIM_REQUIRE_MODEL=1`
/// (then they run and fail on the missing file).
enum RealModel {
    static var path: String { RealModelFile.path }
    static var present: Bool { RealModelFile.present }
    static var required: Bool { RealModelFile.required }
    static var shouldRun: Bool { RealModelFile.shouldRun }

    /// Model and tokenizer, or the load error (reported by every test that needs them).
    static let loaded: Result<(model: LlamaModel, tokenizer: BPETokenizer), any Error> = Result {
        guard present else {
            throw RealModelMissing(path: path)
        }
        let file = try GGUFFile(path: path)
        let model = try LlamaModel(gguf: file)
        print("[LlamaTests] loaded \(path) in \(String(format: "%.2f", model.loadSeconds)) s, \(model.weightBytes / 1_000_000) MB f32")
        return (model, try BPETokenizer(gguf: file))
    }

    static func get() throws -> (model: LlamaModel, tokenizer: BPETokenizer) { try loaded.get() }
}

struct RealModelMissing: Error, CustomStringConvertible {
    let path: String
    var description: String {
        "STARSIM_REQUIRE_MODEL=1 but the model file \(path) does not exist (set STARSIM_MODEL or STARSIM_CACHE)"
    }
}

/// The NumPy reference fixtures written by tools/reference/make_model_fixtures.py.
struct ReferenceFixtures: Decodable {
    struct Prompt: Decodable {
        struct Position: Decodable { var position: Int; var top10: [[Double]] }
        var name: String
        var text: String
        var ids: [Int32]
        var logits_file: String
        var last_position: Int
        var last_top10: [[Double]]
        var positions: [Position]
    }
    struct Greedy: Decodable {
        var prompt: String
        var steps: Int
        var ids: [Int32]
        var text: String
        var passkey: String?
    }
    var prompts: [Prompt]
    var greedy: [Greedy]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load() throws -> ReferenceFixtures {
        let data = try Data(contentsOf: directory.appendingPathComponent("reference-logits.json"))
        return try JSONDecoder().decode(ReferenceFixtures.self, from: data)
    }

    static func logits(_ file: String) throws -> [Float] {
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

/// Real-model checks against the independent NumPy float32 reference (few, since each prefill of
/// thousands of tokens costs seconds).
@Suite(.serialized, .enabled(if: RealModel.shouldRun, "SmolLM2 GGUF not found (set STARSIM_MODEL)"))
struct RealModelTests {
    @Test func capitalOfFranceMatchesPlatformSanityCheck() throws {
        let (model, tokenizer) = try RealModel.get()
        #expect(model.config.layerCount == 30 && model.config.vocabularySize == 49152 && model.config.tiedEmbeddings)
        let ids = tokenizer.encode("The capital of France is")
        #expect(ids == [504, 3575, 282, 4649, 314])
        var hook = GlobalAttention(config: model.config)
        let logits = try model.forward(tokens: ids, positions: [0, 1, 2, 3, 4], hook: &hook)
        #expect(LlamaModel.argmax(logits) == 7042)  // " Paris"
        #expect(abs(logits[7042] - 17.37) < 0.02, "logit of ' Paris' = \(logits[7042])")
    }

    @Test func logitsMatchNumPyReference() throws {
        let (model, _) = try RealModel.get()
        let fixtures = try ReferenceFixtures.load()
        #expect(!fixtures.prompts.isEmpty)
        for p in fixtures.prompts {
            let rows = p.positions.map(\.position) + [p.last_position]
            var hook = GlobalAttention(config: model.config, reservingTokens: p.ids.count)
            let out = try model.forward(tokens: p.ids, positions: (0..<Int32(p.ids.count)).map { $0 }, hook: &hook,
                                        logitRows: rows, chunkSize: 512)
            let reference = try ReferenceFixtures.logits(p.logits_file)
            let last = out[rows.count - 1]
            let d = maxAbsDifference(last, reference)
            #expect(d <= 1e-2, "\(p.name): max |Δlogit| over the vocabulary at the last position = \(d)")
            #expect(LlamaModel.argmax(last) == LlamaModel.argmax(reference), "\(p.name): top-1 differs")
            #expect(Int(LlamaModel.argmax(last)) == Int(p.last_top10[0][0]))
            for (j, pos) in p.positions.enumerated() {
                let ours = Self.top(out[j], 10)
                let theirs = pos.top10.map { Int($0[0]) }
                #expect(Set(ours) == Set(theirs), "\(p.name) position \(pos.position): top-10 \(ours) vs \(theirs)")
                for entry in pos.top10 {
                    let id = Int(entry[0])
                    #expect(abs(Double(out[j][id]) - entry[1]) <= 1e-2, "\(p.name)@\(pos.position) id \(id)")
                }
            }
            print("[LlamaTests] \(p.name): \(p.ids.count) tokens, max |Δlogit| at last position \(d)")
        }
    }

    @Test func greedyGenerationMatchesReference() throws {
        let (model, tokenizer) = try RealModel.get()
        let fixtures = try ReferenceFixtures.load()
        for g in fixtures.greedy {
            let prompt = try #require(fixtures.prompts.first { $0.name == g.prompt })
            var hook = GlobalAttention(config: model.config)
            let out = try model.generate(prompt: prompt.ids, maxTokens: g.steps, stopAt: [], hook: &hook)
            #expect(out == g.ids, "\(g.prompt): generated \(out) (\(tokenizer.decode(out).debugDescription)), reference \(g.ids)")
            let text = tokenizer.decode(out)
            if g.prompt == "chatml-france" { #expect(text.contains("Paris"), "\(text.debugDescription)") }
            if let key = g.passkey { #expect(text.contains(key), "\(text.debugDescription)") }
        }
    }

    /// A 5-digit pass key hidden at 10 %, 50 % and 90 % depth of a ~3,900-token filler prompt,
    /// asked for in a ChatML turn.
    ///
    /// SmolLM2-135M retrieves it at 90 % depth only; at 10 % (and 50 %) it answers "The pass key is
    /// the pass key is …". The independent NumPy reference gives the same 12 tokens at 10 % depth
    /// (script in Docs/Llama.md, depth 0.1: `[504, 1301, 1646, 314, 260, 1301, 1646, 314,
    /// 260, 1301, 1646, 314]`), so this is the model's limit with this prompt, not an error here; those
    /// depths are recorded as known issues (the test fails if they start retrieving, so the note
    /// cannot go stale) and 10 % is checked token for token against the reference.
    @Test(arguments: [0.1, 0.5, 0.9])
    func passkeyRetrieval(depth: Double) throws {
        let (model, tokenizer) = try RealModel.get()
        let filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "
        let key = "The pass key is 71432. Remember it. 71432 is the pass key. "
        let repeats = 4000 / tokenizer.encode(filler).count
        let insertAt = Int(Double(repeats) * depth)
        var haystack = ""
        for i in 0..<repeats {
            if i == insertAt { haystack += key }
            haystack += filler
        }
        let question = "There is an important piece of information hidden inside a lot of irrelevant text. "
            + "Find it and memorize it. I will quiz you about it.\n\n" + haystack + "\nWhat is the pass key?"
        let prompt = tokenizer.encode(ChatML.render(messages: [ChatMessage(role: "user", content: question)],
                                                    addGenerationPrompt: true))
        #expect(prompt.count == 3933)
        var hook = GlobalAttention(config: model.config, reservingTokens: prompt.count + 16)
        let start = Date()
        let out = try model.generate(prompt: prompt, maxTokens: 12, stopAt: [2], hook: &hook)
        let answer = tokenizer.decode(out)
        print("[LlamaTests] passkey depth \(depth): \(prompt.count) tokens, \(String(format: "%.1f", Date().timeIntervalSince(start))) s, answer \(answer.debugDescription)")
        if depth == 0.1 {
            #expect(out == [504, 1301, 1646, 314, 260, 1301, 1646, 314, 260, 1301, 1646, 314],
                    "differs from the NumPy reference's greedy tokens for the same prompt")
        }
        if depth >= 0.9 {
            #expect(answer.contains("71432"), "depth \(depth): answer \(answer.debugDescription)")
        } else {
            withKnownIssue("SmolLM2-135M does not retrieve the key at \(depth) depth of this prompt (NumPy reference agrees)") {
                #expect(answer.contains("71432"), "depth \(depth): answer \(answer.debugDescription)")
            }
        }
    }

    static func top(_ v: [Float], _ k: Int) -> [Int] {
        Array(v.indices.sorted { v[$0] > v[$1] || (v[$0] == v[$1] && $0 < $1) }.prefix(k))
    }
}
