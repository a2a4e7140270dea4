import GGUF

extension BPETokenizer {
    /// The GGUF `tokenizer.ggml.model` values this tokenizer reads.
    public static let supportedModels = ["gpt2"]

    /// Reads the tokenizer stored in a GGUF file's metadata.
    ///
    /// Keys: `tokenizer.ggml.model` (must be `"gpt2"`), `tokenizer.ggml.pre` (`PreTokenizer.supportedNames`),
    /// `tokenizer.ggml.tokens`, `tokenizer.ggml.merges`; optional `tokenizer.ggml.token_type`,
    /// `tokenizer.ggml.eos_token_id`, `tokenizer.ggml.bos_token_id`, `tokenizer.chat_template`.
    /// - Throws: `TokenizerError` naming the missing or mistyped key, the unsupported model or
    ///   pre-tokenizer value (with the supported ones), or the bad merge line.
    public init(gguf: GGUFFile) throws {
        let metadata = gguf.metadata
        func value(_ key: String) throws -> GGUFValue {
            guard let v = metadata[key] else { throw TokenizerError(.missingKey(key)) }
            return v
        }
        func string(_ key: String) throws -> String {
            guard let s = try value(key).stringValue else {
                throw TokenizerError(.wrongKeyType(key: key, expected: "a string"))
            }
            return s
        }
        func strings(_ key: String) throws -> [String] {
            guard let array = try value(key).arrayValue else {
                throw TokenizerError(.wrongKeyType(key: key, expected: "an array of strings"))
            }
            var out: [String] = []
            out.reserveCapacity(array.count)
            for element in array {
                guard let s = element.stringValue else {
                    throw TokenizerError(.wrongKeyType(key: key, expected: "an array of strings"))
                }
                out.append(s)
            }
            return out
        }
        func optionalID(_ key: String) throws -> Int32? {
            guard let v = metadata[key] else { return nil }
            guard let i = v.intValue, let id = Int32(exactly: i) else {
                throw TokenizerError(.wrongKeyType(key: key, expected: "an integer token id"))
            }
            return id
        }

        let model = try string("tokenizer.ggml.model")
        guard Self.supportedModels.contains(model) else {
            throw TokenizerError(.unsupportedModel(found: model, supported: Self.supportedModels))
        }
        let pre = try string("tokenizer.ggml.pre")
        _ = try PreTokenizer(name: pre)  // report an unsupported pre-tokenizer before the big arrays
        let tokens = try strings("tokenizer.ggml.tokens")
        let merges = try strings("tokenizer.ggml.merges")
        var types: [Int32] = []
        if let v = metadata["tokenizer.ggml.token_type"] {
            guard let array = v.arrayValue else {
                throw TokenizerError(.wrongKeyType(key: "tokenizer.ggml.token_type", expected: "an array of integers"))
            }
            types.reserveCapacity(array.count)
            for element in array {
                guard let i = element.intValue, let t = Int32(exactly: i) else {
                    throw TokenizerError(.wrongKeyType(key: "tokenizer.ggml.token_type", expected: "an array of integers"))
                }
                types.append(t)
            }
        }
        var template: String?
        if metadata["tokenizer.chat_template"] != nil { template = try string("tokenizer.chat_template") }
        try self.init(
            tokens: tokens, merges: merges, tokenTypes: types, preTokenizer: pre,
            eosTokenID: try optionalID("tokenizer.ggml.eos_token_id"),
            bosTokenID: try optionalID("tokenizer.ggml.bos_token_id"), chatTemplate: template)
    }
}
