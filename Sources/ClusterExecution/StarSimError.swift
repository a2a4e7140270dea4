/// The one app-level error: a problem a user can act on while planning, running or projecting — bad
/// scenario values or options, unknown names, a missing model, an impossible cluster. Wraps the lower
/// layers' errors with the scenario field or option they came from. (The capacity tools used to have
/// their own `StarSimError`; it is this type now.)
public struct StarSimError: Error, CustomStringConvertible, Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case modelMissing(path: String)
        case invalid(field: String, message: String)
        case invalidValue(field: String, value: String, expected: String)
        case failed(String)
    }

    let kind: Kind

    public static func modelMissing(_ path: String) -> StarSimError { StarSimError(kind: .modelMissing(path: path)) }
    /// A value that cannot work: names the field (e.g. `methods[1].star.block`) and why.
    public static func invalid(_ field: String, _ message: String) -> StarSimError {
        StarSimError(kind: .invalid(field: field, message: message))
    }
    public static func failed(_ message: String) -> StarSimError { StarSimError(kind: .failed(message)) }
    /// `field: 'value' is invalid; expected …` (options and sweep fields).
    public static func invalid(_ field: String, _ value: String, _ expected: String) -> StarSimError {
        StarSimError(kind: .invalidValue(field: field, value: value, expected: expected))
    }
    /// Same as `invalid(_:_:_:)`, for front ends validating their own options.
    public static func invalidValue(_ field: String, _ value: String, _ expected: String) -> StarSimError {
        invalid(field, value, expected)
    }

    /// True for bad input (exit status 2), false for a failure while working (exit status 1).
    public var isInputError: Bool {
        if case .failed = kind { return false }
        return true
    }

    public var description: String {
        switch kind {
        case .modelMissing(let path):
            return "model file not found: \(path) (run scripts/install.sh to download it, or set STARSIM_MODEL)"
        case .invalid(let field, let message):
            return "\(field): \(message)"
        case .invalidValue(let field, let value, let expected):
            return "\(field): '\(value)' is invalid; expected \(expected)"
        case .failed(let message):
            return message
        }
    }
}
