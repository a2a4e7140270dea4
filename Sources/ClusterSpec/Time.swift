import Foundation

/// Virtual time of the simulation, in integer nanoseconds.
///
/// Instants and durations are distinct types (as `NIODeadline` and `TimeAmount` in swift-nio) so that
/// adding two instants, or passing a duration where a point in time is expected, does not compile.
public struct SimInstant: Comparable, Hashable, Sendable, CustomStringConvertible, Codable {
    /// Nanoseconds since the start of the run.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The start of every run.
    public static let zero = SimInstant(nanoseconds: 0)

    public static func < (a: SimInstant, b: SimInstant) -> Bool { a.nanoseconds < b.nanoseconds }
    /// Saturates at `Int64.max` instead of trapping (the scheduler stops a run long before, at
    /// `InputLimits.simulatedTimeHorizonSeconds`).
    public static func + (a: SimInstant, d: SimDuration) -> SimInstant {
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(d.nanoseconds)
        return SimInstant(nanoseconds: overflow ? (d.nanoseconds > 0 ? .max : .min) : sum)
    }
    public static func - (a: SimInstant, b: SimInstant) -> SimDuration {
        SimDuration(nanoseconds: a.nanoseconds - b.nanoseconds)
    }
    /// Seconds since the start of the run (for display only; all arithmetic stays integral).
    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var description: String { SimDuration(nanoseconds: nanoseconds).description }
}

/// A span of virtual time, in integer nanoseconds.
public struct SimDuration: Comparable, Hashable, Sendable, AdditiveArithmetic, CustomStringConvertible, Codable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = SimDuration(nanoseconds: 0)
    public static func nanoseconds(_ n: Int64) -> SimDuration { SimDuration(nanoseconds: n) }
    public static func microseconds(_ n: Int64) -> SimDuration { SimDuration(nanoseconds: n * 1_000) }
    public static func milliseconds(_ n: Int64) -> SimDuration { SimDuration(nanoseconds: n * 1_000_000) }
    /// Rounds up to the next nanosecond, so that a non-zero cost never becomes zero time; saturates at
    /// `Int64.max` nanoseconds (292 years) instead of trapping.
    public static func seconds(_ s: Double) -> SimDuration {
        precondition(s.isFinite && s >= 0, "duration must be finite and non-negative, got \(s)")
        return SimDuration(saturatingNanoseconds: (s * 1e9).rounded(.up))
    }

    /// A whole number of nanoseconds given as a non-negative `Double`, saturating at `Int64.max`
    /// (292 years) instead of trapping; the scheduler stops a run long before.
    public init(saturatingNanoseconds ns: Double) {
        self.init(nanoseconds: ns >= 9.2e18 ? .max : Int64(ns))
    }
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    public static func < (a: SimDuration, b: SimDuration) -> Bool { a.nanoseconds < b.nanoseconds }
    /// Saturates at `Int64.max` / `Int64.min` instead of trapping.
    public static func + (a: SimDuration, b: SimDuration) -> SimDuration {
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(b.nanoseconds)
        return SimDuration(nanoseconds: overflow ? (b.nanoseconds > 0 ? .max : .min) : sum)
    }
    public static func - (a: SimDuration, b: SimDuration) -> SimDuration {
        SimDuration(nanoseconds: a.nanoseconds - b.nanoseconds)
    }
    /// Saturates instead of trapping.
    public static func * (a: SimDuration, k: Int64) -> SimDuration {
        let (product, overflow) = a.nanoseconds.multipliedReportingOverflow(by: k)
        return SimDuration(nanoseconds: overflow ? ((a.nanoseconds < 0) != (k < 0) ? .min : .max) : product)
    }

    /// Human-readable with a unit that fits: `850ns`, `12.5µs`, `3.2ms`, `1.25s`.
    public var description: String {
        let n = Double(nanoseconds)
        switch abs(nanoseconds) {
        case ..<1_000: return "\(nanoseconds)ns"
        case ..<1_000_000: return Self.trim(n / 1e3) + "µs"
        case ..<1_000_000_000: return Self.trim(n / 1e6) + "ms"
        default: return Self.trim(n / 1e9) + "s"
        }
    }

    private static func trim(_ x: Double) -> String {
        var s = String(format: "%.3f", x)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}
