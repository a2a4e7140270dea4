import Testing
import Tokenizer
import TestSupport

/// The pre-tokenizer alone. Expected splits were produced by Hugging Face `tokenizers` 0.23.3
/// (`pre_tokenize_str`, bytes mapped back to text) with SmolLM's
/// `Sequence[Digits(individual_digits=True), ByteLevel(add_prefix_space=False, use_regex=True)]`
/// ("smollm") and with `ByteLevel` alone ("gpt2").
@Suite struct PreTokenizerTests {
    static let cases: [(text: String, smollm: [String], gpt2: [String])] = [
        ("a  b", ["a", " ", " b"], ["a", " ", " b"]),
        ("a b ", ["a", " b", " "], ["a", " b", " "]),
        ("a   ", ["a", "   "], ["a", "   "]),
        ("a\n\nb", ["a", "\n", "\n", "b"], ["a", "\n", "\n", "b"]),
        ("a \nb", ["a", " ", "\n", "b"], ["a", " ", "\n", "b"]),
        (" \n a", [" \n", " a"], [" \n", " a"]),
        ("x 12 y", ["x", " ", "1", "2", " y"], ["x", " 12", " y"]),
        ("x 12y", ["x", " ", "1", "2", "y"], ["x", " 12", "y"]),
        ("it's I'M we're", ["it", "'s", " I", "'", "M", " we", "'re"], ["it", "'s", " I", "'", "M", " we", "'re"]),
        ("?'s", ["?'", "s"], ["?'", "s"]),
        (" ...", [" ..."], [" ..."]),
        ("a\t b", ["a", "\t", " b"], ["a", "\t", " b"]),
        ("a \u{A0}b", ["a", " ", "\u{A0}", "b"], ["a", " ", "\u{A0}", "b"]),
        ("  ", ["  "], ["  "]),
        ("\n", ["\n"], ["\n"]),
        ("héllo wörld", ["héllo", " wörld"], ["héllo", " wörld"]),
        ("e\u{301}e", ["e", "\u{301}", "e"], ["e", "\u{301}", "e"]),
        ("١٢ ½x", ["١", "٢", " ", "½", "x"], ["١٢", " ½", "x"]),
        ("'ll'd", ["'ll", "'d"], ["'ll", "'d"]),
        ("'", ["'"], ["'"]),
        ("", [], []),
    ]

    /// Compares scalar by scalar: `String ==` would treat canonically equivalent texts as equal.
    static func scalars(_ words: [String]) -> [[UInt32]] { words.map { $0.unicodeScalars.map(\.value) } }

    @Test func smolLMSplitsMatchHuggingFace() throws {
        let pre = try PreTokenizer(name: "smollm")
        for c in Self.cases {
            #expect(Self.scalars(pre.split(c.text)) == Self.scalars(c.smollm), "\(c.text.debugDescription)")
        }
    }

    @Test func gpt2SplitsMatchHuggingFace() throws {
        let pre = try PreTokenizer(name: "gpt2")
        for c in Self.cases {
            #expect(Self.scalars(pre.split(c.text)) == Self.scalars(c.gpt2), "\(c.text.debugDescription)")
        }
    }

    @Test func unsupportedNameIsAnError() {
        #expect {
            _ = try PreTokenizer(name: "llama3")
        } throws: { error in
            let message = "\(error)"
            return error is TokenizerError && message.contains("\"llama3\"") && message.contains("\"smollm\"")
        }
    }

    /// Splitting never loses or reorders text, for random scalar soup.
    @Test func wordsConcatenateToTheInput() throws {
        var rng = SplitMix64(seed: 11)
        for name in PreTokenizer.supportedNames {
            let pre = try PreTokenizer(name: name)
            for _ in 0..<300 {
                let text = RandomText.string(&rng, maxScalars: 40)
                let words = pre.split(text)
                #expect(words.allSatisfy { !$0.isEmpty })
                #expect(Array(words.joined().utf8) == Array(text.utf8))
            }
        }
    }
}
