/// An error raised while loading a Llama model or validating its input.
///
/// Every message names the file, tensor, key or value at fault and what was expected, e.g.
/// `/m.gguf: tensor 'blk.3.attn_q.weight' has dimensions [576, 512], expected [576, 576]`.
public struct ModelError: Error, CustomStringConvertible, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case notLlama(path: String, architecture: String)
        case missingMetadata(path: String, key: String)
        case badMetadata(path: String, key: String, value: String, expected: String)
        case missingTensor(path: String, name: String)
        case wrongShape(path: String, name: String, found: [Int], expected: [Int])
        case unsupportedTensorType(path: String, name: String, type: String)
        case gguf(path: String, message: String)
        case emptyPrompt
        case promptTooLong(tokens: Int, context: Int)
        case positionBeyondContext(index: Int, position: Int32, context: Int)
        case negativePosition(index: Int, position: Int32)
        case positionCountMismatch(tokens: Int, positions: Int)
        case tokenOutOfRange(index: Int, id: Int32, vocabulary: Int)
        case invalidArgument(String)
        case insufficientMemory(path: String, neededBytes: Int, availableBytes: Int)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case let .notLlama(path, architecture):
            return "\(path): general.architecture is '\(architecture)', expected 'llama' (only Llama-family models are supported)"
        case let .missingMetadata(path, key):
            return "\(path): missing metadata key '\(key)' (required for a llama model)"
        case let .badMetadata(path, key, value, expected):
            return "\(path): metadata key '\(key)' has value \(value), expected \(expected)"
        case let .missingTensor(path, name):
            return "\(path): missing tensor '\(name)'"
        case let .wrongShape(path, name, found, expected):
            return "\(path): tensor '\(name)' has dimensions \(found), expected \(expected) (ggml order [in, out])"
        case let .unsupportedTensorType(path, name, type):
            return "\(path): tensor '\(name)' has type \(type), which cannot be dequantized to f32"
        case let .gguf(path, message):
            return "\(path): \(message)"
        case .emptyPrompt:
            return "empty prompt: at least one token is required"
        case let .promptTooLong(tokens, context):
            return "prompt of \(tokens) tokens is longer than the model context of \(context) tokens"
        case let .positionBeyondContext(index, position, context):
            return "position \(position) (token \(index)) is beyond the model context of \(context) tokens (positions must be < \(context))"
        case let .negativePosition(index, position):
            return "position \(position) (token \(index)) is negative"
        case let .positionCountMismatch(tokens, positions):
            return "\(tokens) tokens but \(positions) positions: one position per token is required"
        case let .tokenOutOfRange(index, id, vocabulary):
            return "token id \(id) (token \(index)) is out of range: vocabulary has \(vocabulary) ids (0..<\(vocabulary))"
        case let .insufficientMemory(path, needed, available):
            return "\(path): loading needs about \(needed / 1_048_576) MiB (weights as f32), more than the \(available / 1_048_576) MiB "
                + "this machine can give (80% of its memory)"
        case let .invalidArgument(message):
            return message
        }
    }
}
