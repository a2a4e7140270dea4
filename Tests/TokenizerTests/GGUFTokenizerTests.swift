import Foundation
import GGUF
import Testing
import Tokenizer

/// `BPETokenizer(gguf:)` on small GGUF files written in the test (no real model needed).
@Suite struct GGUFTokenizerTests {
    typealias V = TinyVocabulary

    /// Writes a GGUF holding the tiny vocabulary, with `edit` applied to its metadata, and opens it.
    static func file(_ edit: (inout [String: GGUFValue]) -> Void = { _ in }) throws -> GGUFFile {
        var metadata: [String: GGUFValue] = [
            "general.architecture": .string("llama"),
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("smollm"),
            "tokenizer.ggml.tokens": .array((V.specials + V.byteSymbols + V.mergedTokens).map { .string($0) }),
            "tokenizer.ggml.merges": .array(V.merges.map { .string($0) }),
            "tokenizer.ggml.token_type": .array(
                (V.specialTypes + [Int32](repeating: 1, count: 256 + V.mergedTokens.count)).map { .int32($0) }),
            "tokenizer.ggml.eos_token_id": .uint32(2),
            "tokenizer.ggml.bos_token_id": .uint32(1),
            "tokenizer.chat_template": .string("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nTiny default<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"),
        ]
        edit(&metadata)
        var writer = GGUFWriter()
        for key in metadata.keys.sorted() { writer.set(key, metadata[key]!) }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokenizer-test-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)
    }

    @Test func readsTheVocabularyFromGGUF() throws {
        let t = try BPETokenizer(gguf: Self.file())
        #expect(t.vocabularySize == 269)
        #expect(t.eosTokenID == 2 && t.bosTokenID == 1)
        #expect(t.preTokenizer.name == "smollm")
        #expect(t.encode("<|im_start|>abc  b") == [1, V.merged("abc"), V.byte(" "), V.merged("Ġb")])
        #expect(t.renderChat(messages: [ChatMessage(role: "user", content: "x")], addGenerationPrompt: false)
            == "<|im_start|>system\nTiny default<|im_end|>\n<|im_start|>user\nx<|im_end|>\n")
    }

    @Test func unsupportedModelNamesTheValueAndTheSupportedOnes() {
        #expect {
            _ = try BPETokenizer(gguf: Self.file { $0["tokenizer.ggml.model"] = .string("llama") })
        } throws: { error in
            let m = "\(error)"
            return error is TokenizerError && m.contains("tokenizer.ggml.model") && m.contains("\"llama\"")
                && m.contains("\"gpt2\"")
        }
    }

    @Test func unsupportedPreTokenizerNamesTheValueAndTheSupportedOnes() {
        #expect {
            _ = try BPETokenizer(gguf: Self.file { $0["tokenizer.ggml.pre"] = .string("llama-bpe") })
        } throws: { error in
            let m = "\(error)"
            return m.contains("tokenizer.ggml.pre") && m.contains("\"llama-bpe\"") && m.contains("\"smollm\"")
        }
    }

    @Test func missingKeysAreNamed() {
        for key in ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.merges"] {
            #expect {
                _ = try BPETokenizer(gguf: Self.file { $0[key] = nil })
            } throws: { error in
                error is TokenizerError && "\(error)".contains(key) && "\(error)".contains("missing")
            }
        }
        #expect {
            _ = try BPETokenizer(gguf: Self.file { $0["tokenizer.ggml.tokens"] = .string("oops") })
        } throws: { "\($0)".contains("tokenizer.ggml.tokens") && "\($0)".contains("array of strings") }
        #expect {
            _ = try BPETokenizer(gguf: Self.file { $0["tokenizer.ggml.merges"] = .array([.string("a b"), .string("ab")]) })
        } throws: { "\($0)".contains("merges[1]") }
    }

    @Test func optionalKeysMayBeAbsent() throws {
        let t = try BPETokenizer(gguf: Self.file {
            $0["tokenizer.ggml.token_type"] = nil
            $0["tokenizer.ggml.eos_token_id"] = nil
            $0["tokenizer.ggml.bos_token_id"] = nil
            $0["tokenizer.chat_template"] = nil
        })
        #expect(t.eosTokenID == nil && t.chatTemplate == nil)
        #expect(t.specialTokenIDs.isEmpty)  // no types: every token is normal, "<|im_start|>" is text
        #expect(t.encode("<|im_start|>").count == 12)
    }
}
