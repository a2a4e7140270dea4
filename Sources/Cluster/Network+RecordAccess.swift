import Foundation

/// Uniform read access to `RunLog.Record` fields for the reporters (trace, timeline, counters,
/// critical path).
extension RunLog.Record {
    /// The record's id (unique within a run).
    var recordID: Int {
        switch self {
        case .compute(let c): c.id
        case .transfer(let t): t.id
        case .memory(let m): m.id
        case .mark(let m): m.id
        }
    }

    /// Start instant (`sent` for transfers, `at` for point records).
    var startTime: SimInstant {
        switch self {
        case .compute(let c): c.start
        case .transfer(let t): t.sent
        case .memory(let m): m.at
        case .mark(let m): m.at
        }
    }

    /// End instant (`delivered` for transfers, `at` for point records).
    var endTime: SimInstant {
        switch self {
        case .compute(let c): c.end
        case .transfer(let t): t.delivered
        case .memory(let m): m.at
        case .mark(let m): m.at
        }
    }

    /// The host doing the work: the computing host, or the sender of a transfer.
    var actingHost: HostID {
        switch self {
        case .compute(let c): c.host
        case .transfer(let t): t.from
        case .memory(let m): m.host
        case .mark(let m): m.host
        }
    }

    var dependencies: [Int] {
        switch self {
        case .compute(let c): c.dependsOn
        case .transfer(let t): t.dependsOn
        case .memory, .mark: []
        }
    }

    /// Compute and transfer records take time; memory and mark records are points.
    var hasDuration: Bool {
        switch self {
        case .compute, .transfer: true
        case .memory, .mark: false
        }
    }

    var label: String {
        switch self {
        case .compute(let c): c.label
        case .transfer(let t): t.label
        case .memory(let m): m.label
        case .mark(let m): m.label
        }
    }

    var phase: String {
        switch self {
        case .compute(let c): c.phase
        case .transfer(let t): t.phase
        case .memory, .mark: ""
        }
    }
}

/// Total length of the union of half-open intervals `[start, end)`, in ns.
func unionLength(_ intervals: [(SimInstant, SimInstant)]) -> SimDuration {
    var total: Int64 = 0
    var current: (SimInstant, SimInstant)? = nil
    for (s, e) in intervals.sorted(by: { $0.0 < $1.0 }) where e > s {
        if let c = current, s <= c.1 {
            current = (c.0, max(c.1, e))
        } else {
            if let c = current { total += (c.1 - c.0).nanoseconds }
            current = (s, e)
        }
    }
    if let c = current { total += (c.1 - c.0).nanoseconds }
    return .nanoseconds(total)
}

/// Human-readable byte count in decimal units with two decimals: `512 B`, `1.20 MB`, `3.00 GB`.
public func formatBytes(_ bytes: Int) -> String {
    let b = Double(bytes)
    let value: (Double, String) = switch abs(b) {
    case ..<1_000: (b, "B")
    case ..<1_000_000: (b / 1e3, "KB")
    case ..<1_000_000_000: (b / 1e6, "MB")
    default: (b / 1e9, "GB")
    }
    if value.1 == "B" { return "\(bytes) B" }
    return String(format: "%.2f", value.0) + " " + value.1
}
