/// An error of the projection module: an unknown model or profile name, a bad model
/// description (GGUF metadata, Hugging Face `config.json`), a bad profile or calibration file.
///
/// The message names the file / field / value and says what was expected.
public struct ProjectionError: Error, CustomStringConvertible, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case unknownName(kind: String, name: String, known: [String])
        case missingField(file: String, field: String, expected: String)
        case invalidField(file: String, field: String, value: String, expected: String)
        case unreadable(file: String, reason: String)
        case config(String)
        case calibration(file: String, item: Int?, reason: String)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case .unknownName(let kind, let name, let known):
            return "unknown \(kind) '\(name)'; known \(kind)s: \(known.joined(separator: ", "))"
        case .missingField(let file, let field, let expected):
            return "\(file): field '\(field)' is missing; expected \(expected)"
        case .invalidField(let file, let field, let value, let expected):
            return "\(file): field '\(field)' has value \(value); expected \(expected)"
        case .unreadable(let file, let reason):
            return "\(file): \(reason)"
        case .config(let message):
            return message
        case .calibration(let file, let item, let reason):
            return "calibration file '\(file)'" + (item.map { ", item \($0)" } ?? "") + ": \(reason)"
        }
    }
}
