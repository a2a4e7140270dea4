import Foundation
import TestSupport
import Testing


/// Random test text: a mix of ASCII, whitespace of every kind, digits of several scripts, Latin-1,
/// combining marks, CJK, emoji (with skin tones, ZWJ, flags), special-token text, and invalid
/// bytes decoded lossily (U+FFFD).
enum RandomText {
    static let pieces: [String] = [
        " ", "  ", "\n", "\n\n", "\t", "\r\n", "\u{A0}", "\u{2003}", "\u{3000}", "\u{85}", "\u{2028}",
        "'s", "'re", "'ll", "'d", "'", "\"", "...", "?!", "-", "_", "#", "$", "%", "&", "*", "(", ")",
        "0", "7", "42", "1,000", "3.14", "١٢٣", "½", "Ⅻ", "²",
        "a", "the", "The", " cat", "Hello", "WORLD", "é", "ß", "ñ", "Ж", "λ", "日本", "中文", "한국어", "ไทย",
        "\u{301}", "\u{308}", "\u{323}", "e\u{301}", "\u{200D}", "\u{FE0F}", "\u{200B}",
        "😀", "👍🏽", "🇫🇷", "👨\u{200D}👩\u{200D}👧", "🏳️\u{200D}🌈", "\u{10FFFD}", "𝔘𝔫𝔦",
        "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_", "<repo_name>", "Ġ", "Ċ",
        "\u{1}", "\u{7F}", "\u{1C}",
    ]

    static func string(_ rng: inout SplitMix64, maxScalars: Int) -> String {
        var s = ""
        let count = Int.random(in: 1...maxScalars, using: &rng)
        for _ in 0..<count {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0:  // any scalar from a few blocks (skipping surrogates)
                let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x24F, 0x300...0x36F, 0x370...0x3FF,
                    0x400...0x4FF, 0x600...0x6FF, 0x900...0x97F, 0x2000...0x206F, 0x3000...0x30FF,
                    0x4E00...0x4FFF, 0xAC00...0xACFF, 0x1F300...0x1FAFF]
                let r = ranges[Int.random(in: 0..<ranges.count, using: &rng)]
                if let scalar = Unicode.Scalar(UInt32.random(in: r, using: &rng)) { s.unicodeScalars.append(scalar) }
            case 1:  // random bytes, repaired with U+FFFD
                let bytes = (0..<Int.random(in: 1...6, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                s += String(decoding: bytes, as: UTF8.self)
            default:
                s += pieces[Int.random(in: 0..<pieces.count, using: &rng)]
            }
        }
        return s
    }
}

/// The real SmolLM2 GGUF: `TestSupport.RealModelFile` (one place for every test target).
typealias RealModel = RealModelFile

/// Test fixtures under `Fixtures/` (copied as a resource folder).
enum Fixture {
    static func data(_ name: String) throws -> Data {
        guard let base = Bundle.module.resourceURL else {
            throw FixtureError(message: "no resource bundle for TokenizerTests")
        }
        return try Data(contentsOf: base.appendingPathComponent("Fixtures/\(name)"))
    }
    struct FixtureError: Error, CustomStringConvertible { var message: String; var description: String { message } }
}

struct TokenizerCase: Decodable { var text: String; var ids: [Int32] }

struct ChatTemplateFixture: Decodable {
    struct Message: Decodable { var role: String; var content: String }
    struct Rendering: Decodable {
        var name: String
        var messages: [Message]
        var add_generation_prompt: Bool
        var text: String
        var ids: [Int32]
    }
    var chat_template: String
    var renderings: [Rendering]
}
