/// A problem a user can act on while planning or running: bad scenario values, a missing model, an
/// impossible cluster. Wraps the lower layers' errors with the scenario field they came from.
public struct StarSimError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        case modelMissing(path: String)
        case invalid(field: String, message: String)
        case failed(String)
    }

    let kind: Kind

    public static func modelMissing(_ path: String) -> StarSimError { StarSimError(kind: .modelMissing(path: path)) }
    /// A value that cannot work: names the field (e.g. `methods[1].star.block`) and why.
    public static func invalid(_ field: String, _ message: String) -> StarSimError {
        StarSimError(kind: .invalid(field: field, message: message))
    }
    public static func failed(_ message: String) -> StarSimError { StarSimError(kind: .failed(message)) }

    public var description: String {
        switch kind {
        case .modelMissing(let path):
            return "model file not found: \(path) (run scripts/install.sh to download it, or set STARSIM_MODEL)"
        case .invalid(let field, let message):
            return "\(field): \(message)"
        case .failed(let message):
            return message
        }
    }
}
