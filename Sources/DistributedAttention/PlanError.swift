/// A plan (or model shape) that cannot be executed, with a message naming the field, its value and
/// what was expected.
///
/// A struct wrapping an internal enum so that new reasons can be added without breaking callers.
public struct PlanError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Reason: Hashable, Sendable {
        /// `owner.field = value` is invalid; `expected` says what would be valid.
        case invalid(owner: String, field: String, value: Int, expected: String)
        /// `owner.field = value` cannot be combined with another of the plan's choices.
        case incompatible(owner: String, field: String, value: String, expected: String)
    }

    let reason: Reason

    init(_ reason: Reason) { self.reason = reason }

    /// The offending field, qualified by its owner, e.g. `StarPlan.blockSize`.
    public var field: String {
        switch reason {
        case .invalid(let owner, let field, _, _), .incompatible(let owner, let field, _, _): return "\(owner).\(field)"
        }
    }

    /// The offending value, as written in a scenario.
    public var value: String {
        switch reason {
        case .invalid(_, _, let value, _): return String(value)
        case .incompatible(_, _, let value, _): return value
        }
    }

    public var description: String {
        switch reason {
        case .invalid(let owner, let field, let value, let expected):
            return "\(owner).\(field) = \(value) is invalid: expected \(expected)"
        case .incompatible(let owner, let field, let value, let expected):
            return "\(owner).\(field) = \(value) is invalid: expected \(expected)"
        }
    }
}
