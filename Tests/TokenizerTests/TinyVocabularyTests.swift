import Testing
import Tokenizer
import TestSupport

/// A hand-built byte-level BPE vocabulary: 4 special tokens, the 256 byte symbols (byte `b` has
/// id `4 + b`), then merged tokens. Expected ids are worked out by hand from the merge ranks.
enum TinyVocabulary {
    static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool>"]
    static let specialTypes: [Int32] = [3, 3, 3, 4]  // control ×3, user-defined
    static let byteSymbols = (0..<256).map { String(ByteLevel.byteToScalar[$0]) }
    /// Merge lines by rank.
    static let merges = ["a b", "b c", "ab c", "Ġ b", "Ġ a", "1 2", "Ġ Ġ", "a a", "Ċ Ċ"]
    static let mergedTokens = ["ab", "bc", "abc", "Ġb", "Ġa", "12", "ĠĠ", "aa", "ĊĊ"]

    static func tokenizer(merges: [String] = merges, preTokenizer: String = "smollm") throws -> BPETokenizer {
        let tokens = specials + byteSymbols + mergedTokens
        let types = specialTypes + [Int32](repeating: 1, count: byteSymbols.count + mergedTokens.count)
        return try BPETokenizer(
            tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: preTokenizer,
            eosTokenID: 2, bosTokenID: 1, chatTemplate: nil)
    }
    static func byte(_ c: Character) -> Int32 { 4 + Int32(c.asciiValue!) }
    static func merged(_ t: String) -> Int32 { 260 + Int32(mergedTokens.firstIndex(of: t)!) }
}

@Suite struct TinyVocabularyTests {
    typealias V = TinyVocabulary

    @Test func vocabularyShape() throws {
        let t = try V.tokenizer()
        #expect(t.vocabularySize == 4 + 256 + 9)
        #expect(t.mergeCount == 9)
        #expect(t.bytesWithoutToken.isEmpty)
        #expect(t.tokenID("<|im_end|>") == 2)
        #expect(t.endOfTurnID == 2)
        #expect(t.endOfTextID == 0)
        #expect(t.specialTokenIDs == [0, 1, 2, 3])
        #expect(t.token(V.merged("abc")) == "abc")
        #expect(t.token(-1) == nil)
    }

    /// "abc": (a,b) has rank 0 < (b,c) rank 1, so ab first, then (ab,c) rank 2 → abc.
    /// With "b c" ranked first, bc forms and "a" is left alone (no merge "a bc").
    @Test func mergesApplyInRankOrder() throws {
        #expect(try V.tokenizer().encode("abc") == [V.merged("abc")])
        let swapped = try V.tokenizer(merges: ["b c", "a b", "ab c"])
        #expect(swapped.encode("abc") == [V.byte("a"), V.merged("bc")])
        #expect(try V.tokenizer().encode("abcab") == [V.merged("abc"), V.merged("ab")])
    }

    /// Equal-rank pairs merge leftmost first: "aaa" → aa, a (not a, aa).
    @Test func equalRanksMergeLeftmostFirst() throws {
        let t = try V.tokenizer()
        #expect(t.encode("aaa") == [V.merged("aa"), V.byte("a")])
        #expect(t.encode("aaaa") == [V.merged("aa"), V.merged("aa")])
        #expect(t.encode("aaaaa") == [V.merged("aa"), V.merged("aa"), V.byte("a")])
    }

    /// smollm isolates digits, so the merge "1 2" never applies; gpt2 keeps the run.
    @Test func digitsAreSplitOneByOne() throws {
        #expect(try V.tokenizer().encode("12") == [V.byte("1"), V.byte("2")])
        #expect(try V.tokenizer(preTokenizer: "gpt2").encode("12") == [V.merged("12")])
    }

    /// The whitespace rules of the GPT-2 pattern, seen through ids.
    @Test func whitespaceRules() throws {
        let t = try V.tokenizer()
        let space = V.byte(" ")
        // "a  b" → "a", " ", " b": the run gives its last space to the word after it.
        #expect(t.encode("a  b") == [V.byte("a"), space, V.merged("Ġb")])
        // "a   b" → "a", "  " (merged ĠĠ), " b".
        #expect(t.encode("a   b") == [V.byte("a"), V.merged("ĠĠ"), V.merged("Ġb")])
        // Trailing spaces stay one word: "b  " → "b", "  ".
        #expect(t.encode("b  ") == [V.byte("b"), V.merged("ĠĠ")])
        // Newlines: "a\n\nb" → "a", "\n", "\n", "b" (each newline alone: ĊĊ never forms).
        #expect(t.encode("a\n\nb") == [V.byte("a"), V.byte("\n"), V.byte("\n"), V.byte("b")])
        // At the end the run is whole: "a\n\n" → "a", "\n\n" → ĊĊ.
        #expect(t.encode("a\n\n") == [V.byte("a"), V.merged("ĊĊ")])
        // A space before a digit stays separate: "a 1" → "a", " ", "1".
        #expect(t.encode("a 1") == [V.byte("a"), space, V.byte("1")])
    }

    @Test func specialTokensAreSingleIDsWhenParsed() throws {
        let t = try V.tokenizer()
        #expect(t.encode("<|im_start|>ab<|im_end|>") == [1, V.merged("ab"), 2])
        #expect(t.encode("<|endoftext|><|endoftext|>") == [0, 0])
        // A partial special token is plain text.
        let partial = t.encode("<|im_end")
        #expect(!partial.contains(2) && t.decode(partial) == "<|im_end")
        // Not parsed: control tokens are text; the user-defined token still matches (llama.cpp's rule).
        let plain = t.encode("<|im_start|>", parseSpecialTokens: false)
        #expect(plain.count == "<|im_start|>".utf8.count && plain.allSatisfy { $0 >= 4 })
        #expect(t.encode("x<tool>y", parseSpecialTokens: false) == [V.byte("x"), 3, V.byte("y")])
        // Text on both sides of a special token is pre-tokenized separately:
        // the space before <|im_end|> is at the end of its piece, so it stays a word of its own.
        #expect(t.encode("a <|im_end|>b") == [V.byte("a"), V.byte(" "), 2, V.byte("b")])
    }

    @Test func decodeRoundTripsAnyText() throws {
        let t = try V.tokenizer()
        var rng = SplitMix64(seed: 3)
        for _ in 0..<500 {
            let text = RandomText.string(&rng, maxScalars: 30)
            let ids = t.encode(text)
            #expect(Array(t.decode(ids).utf8) == Array(text.utf8), "\(text.debugDescription)")
        }
        #expect(t.decode([1, V.merged("abc"), 2]) == "<|im_start|>abc<|im_end|>")
    }

    @Test func decodeRejectsOutOfRangeIDs() throws {
        let t = try V.tokenizer()
        #expect(t.decode([V.byte("a"), 9999]) == "a\u{FFFD}")
        #expect {
            _ = try t.decode(validating: [V.byte("a"), 9999])
        } throws: { error in
            let message = "\(error)"
            return error is TokenizerError && message.contains("9999") && message.contains("position 1")
        }
        #expect(throws: TokenizerError.self) { _ = try t.decode(validating: [-1]) }
        #expect(try t.decode(validating: [V.merged("ab")]) == "ab")
    }

    @Test func malformedMergeLinesAreErrors() throws {
        for bad in ["ab", "a  b", " a", "a b c", ""] {
            #expect {
                _ = try V.tokenizer(merges: ["a b", bad])
            } throws: { error in
                "\(error)".contains("merges[1]") && "\(error)".contains("\"\(bad)\"")
            }
        }
        // Tokens that are not in the vocabulary: "x y" → "xy" is not a token.
        #expect {
            _ = try V.tokenizer(merges: ["x y"])
        } throws: { error in
            "\(error)".contains("merges[0]") && "\(error)".contains("\"xy\"")
        }
    }

    @Test func badVocabulariesAreErrors() throws {
        #expect(throws: TokenizerError.self) {
            _ = try BPETokenizer(tokens: [], merges: [], tokenTypes: [], preTokenizer: "smollm",
                                 eosTokenID: nil, bosTokenID: nil, chatTemplate: nil)
        }
        #expect {
            _ = try BPETokenizer(tokens: V.byteSymbols, merges: [], tokenTypes: [1, 1], preTokenizer: "smollm",
                                 eosTokenID: nil, bosTokenID: nil, chatTemplate: nil)
        } throws: { "\($0)".contains("token_type has 2") }
        #expect {
            _ = try BPETokenizer(tokens: V.byteSymbols, merges: [], tokenTypes: [], preTokenizer: "smollm",
                                 eosTokenID: 256, bosTokenID: nil, chatTemplate: nil)
        } throws: { "\($0)".contains("eos_token_id = 256") }
        #expect {
            _ = try BPETokenizer(tokens: V.byteSymbols, merges: [], tokenTypes: [], preTokenizer: "qwen2",
                                 eosTokenID: nil, bosTokenID: nil, chatTemplate: nil)
        } throws: { "\($0)".contains("\"qwen2\"") }
    }

    /// A vocabulary without some byte symbols drops those bytes (Hugging Face / llama.cpp behaviour)
    /// and says so in `bytesWithoutToken`.
    @Test func bytesWithoutTokenAreDropped() throws {
        let withoutX = V.byteSymbols.filter { $0 != "x" }
        let t = try BPETokenizer(tokens: withoutX, merges: [], tokenTypes: [], preTokenizer: "smollm",
                                 eosTokenID: nil, bosTokenID: nil, chatTemplate: nil)
        #expect(t.bytesWithoutToken == [UInt8(ascii: "x")])
        #expect(t.decode(t.encode("axb x")) == "ab ")
    }

    @Test func byteLevelMapping() {
        #expect(ByteLevel.encode(Array(" t\n".utf8)) == "ĠtĊ")
        #expect(ByteLevel.decode("ĠtĊ") == Array(" t\n".utf8))
        #expect(ByteLevel.decode("日") == nil)
        #expect(Set(ByteLevel.byteToScalar).count == 256)
        for b in 0...255 { #expect(ByteLevel.byte(for: ByteLevel.byteToScalar[b]) == UInt8(b)) }
    }
}
