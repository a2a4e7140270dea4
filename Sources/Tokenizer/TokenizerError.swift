/// An error building a tokenizer from a vocabulary, or decoding ids it does not know.
///
/// A struct wrapping an internal enum so new cases can be added without breaking callers. The
/// `description` names the GGUF key / merge line / value that was wrong and what was expected.
public struct TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case unsupportedModel(found: String, supported: [String])
        case unsupportedPreTokenizer(found: String, supported: [String])
        case missingKey(String)
        case wrongKeyType(key: String, expected: String)
        case emptyVocabulary
        case tokenTypeCountMismatch(tokens: Int, tokenTypes: Int)
        case malformedMerge(index: Int, line: String)
        case mergeUnknownToken(index: Int, line: String, token: String)
        case specialIDOutOfRange(key: String, id: Int64, vocabularySize: Int)
        case tokenIDOutOfRange(id: Int32, position: Int, vocabularySize: Int)
    }

    let kind: Kind
    init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .unsupportedModel(let found, let supported):
            return "tokenizer.ggml.model is \"\(found)\"; this tokenizer supports only "
                + supported.map { "\"\($0)\"" }.joined(separator: ", ")
                + " (byte-level BPE with merges)"
        case .unsupportedPreTokenizer(let found, let supported):
            return "tokenizer.ggml.pre is \"\(found)\"; supported pre-tokenizers: "
                + supported.map { "\"\($0)\"" }.joined(separator: ", ")
        case .missingKey(let key):
            return "GGUF metadata key \(key) is missing; a byte-level BPE tokenizer needs it"
        case .wrongKeyType(let key, let expected):
            return "GGUF metadata key \(key) has the wrong type; expected \(expected)"
        case .emptyVocabulary:
            return "the tokenizer vocabulary (tokenizer.ggml.tokens) is empty"
        case .tokenTypeCountMismatch(let tokens, let types):
            return "tokenizer.ggml.token_type has \(types) entries but tokenizer.ggml.tokens has \(tokens);"
                + " expected one type per token (or none)"
        case .malformedMerge(let index, let line):
            return "tokenizer.ggml.merges[\(index)] is \"\(line)\"; expected two non-empty tokens"
                + " separated by a single space, like \"Ġ t\""
        case .mergeUnknownToken(let index, let line, let token):
            return "tokenizer.ggml.merges[\(index)] \"\(line)\" uses \"\(token)\", which is not in"
                + " tokenizer.ggml.tokens"
        case .specialIDOutOfRange(let key, let id, let size):
            return "\(key) = \(id) is outside the vocabulary 0..<\(size)"
        case .tokenIDOutOfRange(let id, let position, let size):
            return "token id \(id) at position \(position) is outside the vocabulary 0..<\(size)"
        }
    }
}
