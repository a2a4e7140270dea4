import Foundation

/// Uniform read access to `RunLog.Record` fields for the reporters (trace, timeline, counters,
/// critical path).
extension RunLog.Record {
    /// The record's id (unique within a run).
    public var recordID: Int {
        switch self {
        case .compute(let c): c.id
        case .transfer(let t): t.id
        case .memory(let m): m.id
        case .mark(let m): m.id
        }
    }

    /// Start instant (`sent` for transfers, `at` for point records).
    public var startTime: SimInstant {
        switch self {
        case .compute(let c): c.start
        case .transfer(let t): t.sent
        case .memory(let m): m.at
        case .mark(let m): m.at
        }
    }

    /// End instant (`delivered` for transfers, `at` for point records).
    public var endTime: SimInstant {
        switch self {
        case .compute(let c): c.end
        case .transfer(let t): t.delivered
        case .memory(let m): m.at
        case .mark(let m): m.at
        }
    }

    /// The host doing the work: the computing host, or the sender of a transfer.
    public var actingHost: HostID {
        switch self {
        case .compute(let c): c.host
        case .transfer(let t): t.from
        case .memory(let m): m.host
        case .mark(let m): m.host
        }
    }

    public var dependencies: [Int] {
        switch self {
        case .compute(let c): c.dependsOn
        case .transfer(let t): t.dependsOn
        case .memory, .mark: []
        }
    }

    /// Compute and transfer records take time; memory and mark records are points.
    public var hasDuration: Bool {
        switch self {
        case .compute, .transfer: true
        case .memory, .mark: false
        }
    }

    public var label: String {
        switch self {
        case .compute(let c): c.label
        case .transfer(let t): t.label
        case .memory(let m): m.label
        case .mark(let m): m.label
        }
    }

    public var phase: PhaseTag {
        switch self {
        case .compute(let c): c.phase
        case .transfer(let t): t.phase
        case .memory, .mark: .none
        }
    }
}

/// The length of a union of half-open intervals `[start, end)`, built one interval at a time in
/// bounded memory: `compact(before:)` merges the pending intervals and folds those ending at or before
/// a watermark (no later interval starts before it) into `finished`.
struct IntervalUnion: Sendable {
    private var pending: [(SimInstant, SimInstant)] = []
    private var finished: Int64 = 0
    /// Pending intervals at which `add` merges them by itself.
    private static let mergeThreshold = 4096

    mutating func add(_ start: SimInstant, _ end: SimInstant) {
        guard end > start else { return }
        if let last = pending.last, start >= last.0, start <= last.1 {
            pending[pending.count - 1].1 = max(last.1, end)  // the common case: in order, touching
        } else {
            pending.append((start, end))
            if pending.count >= Self.mergeThreshold { merge() }
        }
    }

    /// Merges pending intervals, then folds those ending at or before `watermark`.
    mutating func compact(before watermark: SimInstant) {
        merge()
        var keep: [(SimInstant, SimInstant)] = []
        for interval in pending {
            if interval.1 <= watermark { finished += (interval.1 - interval.0).nanoseconds } else { keep.append(interval) }
        }
        pending = keep
    }

    /// Total length so far.
    var length: SimDuration {
        var copy = self
        copy.merge()
        return .nanoseconds(copy.pending.reduce(copy.finished) { $0 + ($1.1 - $1.0).nanoseconds })
    }

    private mutating func merge() {
        guard pending.count > 1 else { return }
        var merged: [(SimInstant, SimInstant)] = []
        merged.reserveCapacity(pending.count)
        for (s, e) in pending.sorted(by: { $0.0 < $1.0 }) {
            if let last = merged.last, s <= last.1 {
                merged[merged.count - 1].1 = max(last.1, e)
            } else {
                merged.append((s, e))
            }
        }
        pending = merged
    }
}

/// Human-readable byte count in decimal units with two decimals: `512 B`, `1.20 MB`, `3.00 GB`,
/// `2.60 TB` — the one spelling of byte counts in reports and tables.
public func formatBytes(_ bytes: Int) -> String {
    let b = Double(bytes)
    let value: (Double, String) = switch abs(b) {
    case ..<1_000: (b, "B")
    case ..<1_000_000: (b / 1e3, "KB")
    case ..<1_000_000_000: (b / 1e6, "MB")
    case ..<1_000_000_000_000: (b / 1e9, "GB")
    default: (b / 1e12, "TB")
    }
    if value.1 == "B" { return "\(bytes) B" }
    return String(format: "%.2f", value.0) + " " + value.1
}

extension RunLog {
    /// Messages in the log (transfer records).
    public var messageCount: Int {
        records.reduce(0) { n, r in if case .transfer = r { n + 1 } else { n } }
    }
}
