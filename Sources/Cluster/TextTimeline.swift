import Foundation

/// A compact text timeline of a run, for small runs, tests and terminals.
///
/// One line per record, ordered by start instant then record id, with aligned columns:
/// ```
///     0.000ms  host0  compute  embed  [prefill]  0.5ms
///     0.500ms  host0  send     host0->host1 1.20 MB kv layer 3  [prefill]  arrives 1.7ms
///     1.700ms  host1  memory   kv cache: 2.40 MB in use
///     2.000ms  host1  mark     done
/// ```
/// Times are exact milliseconds with three decimals from integer ns (truncated to the µs).
/// At most `limit` lines are shown, then `… N more`.
public enum TextTimeline {
    public static func render(_ log: RunLog, limit: Int = 200) -> String {
        let names = Dictionary(log.hosts.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let records = log.records.sorted { ($0.startTime, $0.recordID) < ($1.startTime, $1.recordID) }
        let shown = records.prefix(max(0, limit))
        func name(_ h: HostID) -> String { oneLine(names[h] ?? h.description) }
        var rows: [(time: String, host: String, kind: String, detail: String)] = []
        for r in shown {
            let time = milliseconds(r.startTime.nanoseconds)
            let label = oneLine(r.label), phase = oneLine(r.phase.name)
            switch r {
            case .compute(let step):
                rows.append((time, name(step.host), "compute", "\(label)\(tag(phase))  \(step.end - step.start)"))
            case .transfer(let message):
                rows.append((time, name(message.from), "send",
                             "\(name(message.from))->\(name(message.to)) \(formatBytes(message.bytes)) \(label)\(tag(phase))  arrives \(message.delivered)"))
            case .memory(let usage):
                rows.append((time, name(usage.host), "memory", "\(label): \(formatBytes(Int(usage.bytesInUse))) in use"))
            case .mark(let point):
                rows.append((time, name(point.host), "mark", label))
            }
        }
        let timeWidth = rows.map(\.time.count).max() ?? 0
        let hostWidth = rows.map(\.host.count).max() ?? 0
        let kindWidth = rows.map(\.kind.count).max() ?? 0
        var lines = rows.map { row in
            "  " + pad(row.time, timeWidth, left: true) + "  " + pad(row.host, hostWidth) + "  "
                + pad(row.kind, kindWidth) + "  " + row.detail
        }
        if records.count > shown.count { lines.append("  … \(records.count - shown.count) more") }
        return lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")
    }

    /// `12.345ms` from integer ns (µs precision, truncated).
    static func milliseconds(_ ns: Int64) -> String {
        let sign = ns < 0 ? "-" : ""
        let m = ns.magnitude
        let frac = String((m % 1_000_000) / 1_000)
        return sign + String(m / 1_000_000) + "." + String(repeating: "0", count: 3 - frac.count) + frac + "ms"
    }

    /// Labels on one line: newlines and tabs are shown escaped.
    private static func oneLine(_ s: String) -> String {
        s.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
            .replacingOccurrences(of: "\t", with: "\\t")
    }

    private static func tag(_ phase: String) -> String { phase.isEmpty ? "" : "  [\(phase)]" }

    private static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? fill + s : s + fill
    }
}
