#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
import Tokenizer
import GGUF

/// Fuzzes the byte-level BPE tokenizer and the ChatML renderer with arbitrary bytes.
///
/// The tokenizer is SmolLM2's, read once from `$STARSIM_MODEL` or
/// `~/.cache/starsim/SmolLM2-135M-Instruct.Q4_1.gguf` when that file exists, else a small one built
/// here (all 256 byte symbols, a few merges and special tokens). The input, read as UTF-8 (invalid
/// sequences become U+FFFD, as `String(decoding:)` does), is checked against what the tokenizer
/// documents:
/// - `encode` (with and without parsing control tokens) returns ids in range, and decoding them gives
///   back the text's bytes less the bytes in `bytesWithoutToken` (which `encode` drops); so
///   `decode(encode(s)) == s` when `s` has none of those bytes;
/// - the pre-tokenizer's words concatenate to the text;
/// - any ids (the input read as little-endian `Int32`s) decode without a crash, and
///   `decode(validating:)` throws exactly when one is out of range;
/// - a chat rendered from the input (NUL-separated role, content, role, content, …) round-trips
///   through `encode` / `decode` like any text; the input is also read as a chat template.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    checkRoundTrip(text, what: "input")

    let words = tokenizer.preTokenizer.split(text)
    if words.reduce(into: [UInt8](), { $0 += $1.utf8 }) != Array(text.utf8) {
        fuzzFailure("pre-tokenizer words \(words) do not concatenate to \(text.debugDescription)")
    }

    let ids = (0..<size / 4).map { i in
        Int32(bitPattern: UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24)
    }
    _ = tokenizer.decode(ids)
    let inRange = ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize }
    if ((try? tokenizer.decode(validating: ids)) != nil) != inRange {
        fuzzFailure("decode(validating:) \(inRange ? "threw for ids all in range" : "accepted an id out of range"): \(ids)")
    }

    let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
    let messages = stride(from: 0, to: parts.count - 1, by: 2).map { ChatMessage(role: parts[$0], content: parts[$0 + 1]) }
    checkRoundTrip(tokenizer.renderChat(messages: messages, addGenerationPrompt: size % 2 == 1), what: "rendered chat")
    _ = ChatML.render(messages: messages, addGenerationPrompt: true, defaultSystemPrompt: parts.first)
    _ = ChatML.isSupportedTemplate(text)
    _ = ChatML.defaultSystemPrompt(inTemplate: text)
    return 0
}

/// Checks the documented `encode` / `decode` round trip on `text`, in both special-token modes.
func checkRoundTrip(_ text: String, what: String) {
    let missing = Set(tokenizer.bytesWithoutToken)
    let expected = text.utf8.filter { !missing.contains($0) }
    for parseSpecial in [true, false] {
        let ids = tokenizer.encode(text, parseSpecialTokens: parseSpecial)
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= tokenizer.vocabularySize }) {
            fuzzFailure("encode(\(what)) gave id \(bad), outside the vocabulary")
        }
        guard let decoded = try? tokenizer.decodeBytes(ids) else { fuzzFailure("decodeBytes(encode(\(what))) threw") }
        if decoded != expected {
            fuzzFailure("""
                decode(encode(\(what), parseSpecialTokens: \(parseSpecial))) != \(what) less bytesWithoutToken: \
                \(text.debugDescription) → \(ids) → \(String(decoding: decoded, as: UTF8.self).debugDescription)
                """)
        }
        if expected.count == text.utf8.count, tokenizer.decode(ids) != text {
            fuzzFailure("decode(encode(\(what))) != \(what) for \(text.debugDescription)")
        }
    }
}

/// SmolLM2's tokenizer when its file is here, else `smallTokenizer()`.
let tokenizer: BPETokenizer = {
    let env = { (name: String) -> String? in getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } }
    let cache = env("STARSIM_CACHE") ?? "\(env("HOME") ?? "/root")/.cache/starsim"
    let path = env("STARSIM_MODEL") ?? "\(cache)/SmolLM2-135M-Instruct.Q4_1.gguf"
    if access(path, R_OK) == 0 {
        do {
            let t = try BPETokenizer(gguf: GGUFFile(path: path))
            print("fuzz-tokenizer: SmolLM2 tokenizer from \(path) (\(t.vocabularySize) tokens, \(t.mergeCount) merges)")
            return t
        } catch {
            fatalError("fuzz-tokenizer: cannot read the tokenizer of \(path): \(error)")
        }
    }
    print("fuzz-tokenizer: \(path) not found; using a small built-in tokenizer")
    return smallTokenizer()
}()

/// Control tokens, a user-defined token, the 256 byte symbols and merges over ASCII words.
func smallTokenizer() -> BPETokenizer {
    let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool>"]
    let bytes = (0..<256).map { String(ByteLevel.byteToScalar[$0]) }
    let merges = ["t h", "th e", "Ġ t", "h e", "Ġt he", "Ġ a", "a n", "an d", "Ġ Ġ", "Ċ Ċ", "Ã ©", "1 2", "e r", "i n"]
    let merged = merges.map { $0.filter { $0 != " " } }
    do {
        return try BPETokenizer(
            tokens: specials + bytes + merged, merges: merges,
            tokenTypes: [3, 3, 3, 4] + Array(repeating: 1, count: bytes.count + merged.count),
            preTokenizer: "smollm", eosTokenID: 2, bosTokenID: 1,
            chatTemplate: "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nbe brief<|im_end|>\\n' }}{% endif %}")
    } catch {
        fatalError("fuzz-tokenizer: the small tokenizer is invalid: \(error)")
    }
}

/// Loads the tokenizer before the first input (its time is not an input's).
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    _ = tokenizer.vocabularySize
    return 0
}
