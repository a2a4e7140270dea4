import Cluster
import Foundation
import Projection

/// Renders projection results as a terminal table, CSV or JSON.
///
/// Rows keep the order of the results. Speedups compare methods of the same *group* (same model,
/// context, hosts, GPUs per host, device, links, combine, generated tokens): `speedup_vs_<m>` =
/// total time of method `m` ÷ total time of the row (> 1: the row is faster).
public struct CapacityTable: Sendable {
    public var results: [ProjectionResult]
    /// Methods that appear, in first-seen order (speedup columns).
    public var methods: [MethodKind]
    /// Phases shown for bytes, in this order.
    public static let phases = Phase.allCases

    public init(results: [ProjectionResult]) {
        self.results = results
        var seen: [MethodKind] = []
        for r in results where !seen.contains(r.config.method) { seen.append(r.config.method) }
        methods = seen
    }

    struct GroupKey: Hashable {
        var model: String, context: Int, hosts: Int, gpus: Int, device: String, intra: String, inter: String
        var combine: String, generate: Int
        init(_ c: ProjectionConfig) {
            model = c.model.name; context = c.contextLength; hosts = c.hosts; gpus = c.gpusPerHost
            device = c.device; intra = c.intraHostLink; inter = c.interHostLink; combine = c.combine.rawValue
            generate = c.generateTokens
        }
    }

    /// Total time of `method` in the group of `row`, when projected.
    func total(of method: MethodKind, like row: ProjectionResult) -> Double? {
        let key = GroupKey(row.config)
        return results.first { $0.config.method == method && GroupKey($0.config) == key }?.totalTime
    }

    /// `total(method) / total(row)`, nil when either is missing.
    public func speedup(of row: ProjectionResult, over method: MethodKind) -> Double? {
        guard let mine = row.totalTime, mine > 0, let other = total(of: method, like: row) else { return nil }
        return other / mine
    }

    /// Largest bytes any one host sent in `phase`.
    static func maxHostBytes(_ r: ProjectionResult, _ phase: Phase) -> Int {
        r.hostBytes.filter { $0.phase == phase }.map(\.bytes).max() ?? 0
    }

    /// Largest bytes any one link carried in `phase`.
    static func maxLinkBytes(_ r: ProjectionResult, _ phase: Phase) -> Int {
        r.linkBytes.filter { $0.phase == phase }.map(\.bytes).max() ?? 0
    }

    // MARK: Formats

    static func seconds(_ s: Double?) -> String {
        guard let s else { return "-" }
        if s >= 100 { return String(format: "%.1f s", s) }
        if s >= 1 { return String(format: "%.3f s", s) }
        if s >= 1e-3 { return String(format: "%.3f ms", s * 1e3) }
        return String(format: "%.1f µs", s * 1e6)
    }

    /// Decimal (SI) bytes, as every report spells them (`formatBytes`): `12.30 GB`.
    public static func bytes(_ b: Int64) -> String { formatBytes(Int(clamping: b)) }

    static func cluster(_ c: ProjectionConfig) -> String { "\(c.effectiveHosts)x\(c.gpusPerHost)" }

    /// Fixed-width text table for a terminal; OOM and errors are listed below it with their messages.
    public func text() -> String {
        let (table, notes) = rows()
        var out = Self.align(table)
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        return out
    }

    /// The table (first row the header) and the notes under it: what ``text()`` prints and the HTML
    /// report's summary shows.
    public func rows() -> (table: [[String]], notes: [String]) {
        var header = ["model", "context", "method", "hosts×gpus", "block", "TTFT", "TPOT", "total", "peak mem/host",
                      "ctx bytes/host", "gen bytes/host", "max link bytes"]
        header += methods.map { "vs \($0.rawValue)" }
        let faulted = results.contains { $0.faulted != nil }, random = results.contains { $0.faultTrials != nil }
        header.append("coverage")
        if faulted { header += ["TTFT faults", "total faults", "re-sent", "restarted", "critical"] }
        var coverageNotes: [String: [Int]] = [:]
        if random { header += ["TTFT mean", "p50", "p99", "total p99", "trials hit"] }
        var rows: [[String]] = []
        var notes: [String] = []
        for (i, r) in results.enumerated() {
            let c = r.config
            var row = [c.model.name, TokenCount.format(c.contextLength), c.method.rawValue, Self.cluster(c),
                       c.effectiveBlock.map(TokenCount.format) ?? "-"]
            switch r.status {
            case .ok:
                let memPct = r.hostCapacity > 0 ? Double(r.peakMemoryPerHost) / Double(r.hostCapacity) * 100 : 0
                row += [Self.seconds(r.timeToFirstToken), Self.seconds(r.timePerOutputToken), Self.seconds(r.totalTime),
                        Self.bytes(r.peakMemoryPerHost) + String(format: " (%.0f%%)", memPct),
                        Self.bytes(Int64(Self.maxHostBytes(r, .contextEncoding))),
                        Self.bytes(Int64(Self.maxHostBytes(r, .generation))),
                        Self.bytes(Int64(r.linkBytes.map(\.bytes).max() ?? 0))]
                row += methods.map { m in speedup(of: r, over: m).map { String(format: "%.2f×", $0) } ?? "-" }
                row.append(r.coverage?.status.rawValue ?? "-")
                if let c = r.coverage, !c.notes.isEmpty { coverageNotes[c.description, default: []].append(i) }
                if faulted {
                    if let f = r.faulted, f.error == nil {
                        func change(_ x: Double?, _ base: Double?) -> String {
                            guard let x, let base, base > 0 else { return Self.seconds(x) }
                            return Self.seconds(x) + String(format: " (%+.0f%%)", 100 * (x - base) / base)
                        }
                        row += [change(f.timeToFirstToken, r.timeToFirstToken), change(f.totalTime, r.totalTime),
                                Self.bytes(Int64(f.bytesResent)),
                                f.restartedHosts.isEmpty ? "-" : f.restartedHosts.map { "\($0)" }.joined(separator: ","),
                                f.criticalResource ?? "-"]
                    } else {
                        row += [r.faulted == nil ? "-" : "error", "", "", "", ""]
                        if let e = r.faulted?.error { notes.append("[\(i)] \(c.method.rawValue) with faults: \(e)") }
                    }
                }
                if random {
                    if let t = r.faultTrials {
                        row += [Self.seconds(t.ttftMean), Self.seconds(t.ttftP50), Self.seconds(t.ttftP99),
                                Self.seconds(t.totalP99), "\(t.trialsWithFaults)/\(t.trials)"]
                    } else {
                        row += ["-", "", "", "", ""]
                    }
                }
            case .outOfMemory(let m):
                row += ["OOM", "", "", "", "", "", ""] + methods.map { _ in "" } + [""]
                notes.append("[\(i)] \(c.method.rawValue) \(TokenCount.format(c.contextLength)) \(Self.cluster(c)): OOM — \(m)")
            case .failed(let m):
                row += ["error", "", "", "", "", "", ""] + methods.map { _ in "" } + [""]
                notes.append("[\(i)] \(c.method.rawValue) \(TokenCount.format(c.contextLength)) \(Self.cluster(c)): \(m)")
            }
            rows.append(row)
        }
        // One line per distinct coverage verdict, naming its rows (Docs/Accuracy.md, "Coverage").
        for (text, rows) in coverageNotes.sorted(by: { $0.value[0] < $1.value[0] }) {
            notes.append("coverage of [\(rows.map { "\($0)" }.joined(separator: ", "))] \(text)")
        }
        return ([header] + rows, notes)
    }

    /// Pads columns to equal width (left-aligned text, one space + `│`-free separators).
    static func align(_ table: [[String]]) -> String {
        let widths = (0..<(table.map(\.count).max() ?? 0)).map { col in
            table.map { col < $0.count ? $0[col].count : 0 }.max() ?? 0
        }
        var out = ""
        for (i, row) in table.enumerated() {
            out += row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) + "\n"
            if i == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }

    /// CSV header row.
    public var csvHeader: [String] {
        var h = ["model", "context_tokens", "method", "hosts", "gpus_per_host", "device", "intra_link", "inter_link",
                 "combine", "block", "anchor", "generate", "status", "ttft_s", "tpot_s", "total_s", "bytes_moved",
                 "peak_memory_per_host_bytes", "host_capacity_bytes"]
        for p in Self.phases { h.append("max_host_bytes_\(p)") }
        for p in Self.phases { h.append("max_link_bytes_\(p)") }
        h += methods.map { "speedup_vs_\($0.rawValue)" }
        h.append("message")
        h += ["coverage", "coverage_notes"]
        if results.contains(where: { $0.faulted != nil }) {
            h += ["faults_ttft_s", "faults_tpot_s", "faults_total_s", "faults_bytes_moved", "faults_bytes_resent",
                  "faults_rerouted_messages", "faults_waiting_messages", "faults_restarted_hosts", "faults_work_lost_s",
                  "faults_critical_resource", "faults_skipped", "faults_error"]
        }
        if results.contains(where: { $0.faultTrials != nil }) {
            h += ["trials", "trials_with_faults", "trials_ttft_mean_s", "trials_ttft_p50_s", "trials_ttft_p99_s",
                  "trials_total_mean_s", "trials_total_p99_s"]
        }
        return h
    }

    /// RFC 4180 CSV: one header row, one row per result; seconds with full precision, empty when absent.
    public func csv() -> String {
        func d(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
        return CSV.document(header: csvHeader, rows: results.map { r in
            let c = r.config
            var f = [c.model.name, "\(c.contextLength)", c.method.rawValue, "\(c.effectiveHosts)", "\(c.gpusPerHost)",
                     c.device, c.intraHostLink, c.interHostLink, c.combine.rawValue,
                     c.effectiveBlock.map { "\($0)" } ?? "", c.effectiveBlock.map { "\(c.anchorSize ?? $0)" } ?? "",
                     "\(c.generateTokens)", r.statusText, d(r.timeToFirstToken), d(r.timePerOutputToken),
                     d(r.totalTime), "\(r.bytesMoved)", "\(r.peakMemoryPerHost)", "\(r.hostCapacity)"]
            for p in Self.phases { f.append("\(Self.maxHostBytes(r, p))") }
            for p in Self.phases { f.append("\(Self.maxLinkBytes(r, p))") }
            f += methods.map { d(speedup(of: r, over: $0)) }
            f.append(r.message ?? "")
            f += [r.coverage?.status.rawValue ?? "", r.coverage?.notes.joined(separator: "; ") ?? ""]
            if results.contains(where: { $0.faulted != nil }) {
                if let x = r.faulted {
                    f += [d(x.timeToFirstToken), d(x.timePerOutputToken), d(x.totalTime), "\(x.bytesMoved)", "\(x.bytesResent)",
                          "\(x.reroutedMessages)", "\(x.waitingMessages)", x.restartedHosts.map { "\($0)" }.joined(separator: " "),
                          d(x.workLostSeconds), x.criticalResource ?? "", x.skippedFaults.joined(separator: " "), x.error ?? ""]
                } else {
                    f += Array(repeating: "", count: 12)
                }
            }
            if results.contains(where: { $0.faultTrials != nil }) {
                if let t = r.faultTrials {
                    f += ["\(t.trials)", "\(t.trialsWithFaults)", d(t.ttftMean), d(t.ttftP50), d(t.ttftP99), d(t.totalMean), d(t.totalP99)]
                } else {
                    f += Array(repeating: "", count: 7)
                }
            }
            return f
        })
    }

    struct JSONRow: Encodable {
        var model: String, contextTokens: Int, method: String, hosts: Int, gpusPerHost: Int, device: String
        var intraLink: String, interLink: String, combine: String, block: Int?, anchor: Int?, generate: Int
        var status: String, message: String?, ttftSeconds: Double?, tpotSeconds: Double?, totalSeconds: Double?
        var bytesMoved: Int, peakMemoryPerHostBytes: Int64, hostCapacityBytes: Int64
        var hostBytes: [PhaseBytes], linkBytes: [PhaseBytes], speedups: [String: Double]
        var coverage: Coverage?, faulted: FaultedFigures?, faultTrials: FaultTrials?
    }

    /// A JSON array of objects (sorted keys, snake_case), with per-host and per-link bytes per phase.
    public func json() -> String {
        let rows = results.map { r -> JSONRow in
            let c = r.config
            var speedups: [String: Double] = [:]
            for m in methods { if let s = speedup(of: r, over: m) { speedups[m.rawValue] = s } }
            return JSONRow(
                model: c.model.name, contextTokens: c.contextLength, method: c.method.rawValue, hosts: c.effectiveHosts,
                gpusPerHost: c.gpusPerHost, device: c.device, intraLink: c.intraHostLink, interLink: c.interHostLink,
                combine: c.combine.rawValue, block: c.effectiveBlock, anchor: c.effectiveBlock.map { c.anchorSize ?? $0 },
                generate: c.generateTokens, status: r.statusText, message: r.message,
                ttftSeconds: r.timeToFirstToken, tpotSeconds: r.timePerOutputToken, totalSeconds: r.totalTime,
                bytesMoved: r.bytesMoved, peakMemoryPerHostBytes: r.peakMemoryPerHost, hostCapacityBytes: r.hostCapacity,
                hostBytes: r.hostBytes, linkBytes: r.linkBytes, speedups: speedups, coverage: r.coverage, faulted: r.faulted,
                faultTrials: r.faultTrials)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(rows)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
