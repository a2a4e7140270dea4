import Cluster
import DistributedAttention
import Foundation

/// How faults changed one method's run: times with and without them, what was sent again, how the
/// run recovered, and what the critical path spent most time on (`Docs/Faults.md`).
public struct FaultImpact: Sendable {
    public var method: String
    /// Seconds to the first token without / with the faults.
    public var timeToFirstToken: (faultFree: Double?, faulted: Double?)
    /// Seconds to the end of the run without / with the faults.
    public var total: (faultFree: Double, faulted: Double)
    /// Bytes delivered before a restart that were sent again.
    public var bytesResent: Int
    public var reroutedMessages: Int
    public var waitingMessages: Int
    public var recoveries: [FaultOutcome.Recovery]
    /// The host or link with the most time on the faulted run's critical path (nil without a log).
    public var critical: (name: String, seconds: Double)?
    /// Fault fields that did not apply to this method's cluster.
    public var skipped: [String]
    /// Faults that would have started after this method's run ended.
    public var notHappened: [FaultOutcome.Late]

    public init(faulted: MethodOutcome, faultFree: MethodOutcome?, skipped: [String]) {
        method = faulted.name
        timeToFirstToken = (faultFree?.timeToFirstToken?.seconds, faulted.timeToFirstToken?.seconds)
        total = (faultFree?.report.finish.seconds ?? .nan, faulted.report.finish.seconds)
        let f = faulted.report.faults
        bytesResent = f.recoveries.reduce(0) { $0 + $1.bytesResent }
        reroutedMessages = f.reroutedMessages
        waitingMessages = f.waitingMessages
        recoveries = f.recoveries
        critical = faulted.report.log.records.isEmpty ? nil
            : faulted.criticalPath.heaviestResource.map { ($0.name, $0.time.seconds) }
        self.skipped = skipped
        notHappened = f.notHappened
    }

    /// `1.23 s → 1.40 s (+14%)`.
    static func change(_ a: Double?, _ b: Double?) -> String {
        guard let a, let b, a.isFinite, b.isFinite else { return "-" }
        let pct = a > 0 ? String(format: " (%+.0f%%)", 100 * (b - a) / a) : ""
        return "\(seconds(a)) → \(seconds(b))\(pct)"
    }

    /// Seconds as every table prints them (`CapacityTable.seconds`).
    static func seconds(_ x: Double) -> String { CapacityTable.seconds(x) }

    /// Recovery in words: `host3 lost at 1.2 s → all 4 hosts restarted at 11.2 s, 35.2 MB re-sent`.
    var recoveryText: String {
        if recoveries.isEmpty { return "-" }
        return recoveries.map { r in
            let who = r.restartedHosts.count == 1 ? "\(r.restartedHosts[0]) redone on a spare"
                : "all \(r.restartedHosts.count) hosts restarted"
            return "\(r.host) lost at \(r.lostAt): \(who) from \(r.spareStartsAt), \(Self.seconds(r.workLost.seconds)) of work lost"
        }.joined(separator: "; ")
    }

    /// The table rows (header first) a text report prints.
    static func table(_ impacts: [FaultImpact]) -> [[String]] {
        var rows = [["method", "first token: no fault → faults", "total: no fault → faults", "bytes re-sent",
                     "re-routed", "waited", "critical path: most time on", "recovery"]]
        for i in impacts {
            rows.append([
                i.method, change(i.timeToFirstToken.faultFree, i.timeToFirstToken.faulted),
                change(i.total.faultFree, i.total.faulted), formatBytes(i.bytesResent), "\(i.reroutedMessages)",
                "\(i.waitingMessages)", i.critical.map { "\($0.name) (\(seconds($0.seconds)))" } ?? "-", i.recoveryText,
            ])
        }
        return rows
    }

    /// JSON object for one method.
    var json: [String: Any] {
        [
            "time_to_first_token_s": timeToFirstToken.faulted as Any,
            "time_to_first_token_fault_free_s": timeToFirstToken.faultFree as Any,
            "total_s": total.faulted, "total_fault_free_s": total.faultFree.isFinite ? total.faultFree as Any : NSNull(),
            "bytes_resent": bytesResent, "rerouted_messages": reroutedMessages, "waiting_messages": waitingMessages,
            "critical_resource": critical?.name as Any, "critical_resource_s": critical?.seconds as Any,
            "skipped_faults": skipped,
            "faults_not_happened": notHappened.map(\.description),
            "recoveries": recoveries.map { r in [
                "host": r.host.rawValue, "field": r.field, "lost_at_s": r.lostAt.seconds,
                "spare_starts_at_s": r.spareStartsAt.seconds, "restarted_hosts": r.restartedHosts.map(\.rawValue),
                "bytes_resent": r.bytesResent, "work_lost_s": r.workLost.seconds,
            ] as [String: Any] },
        ]
    }
}
