import Cluster
import DistributedAttention
import Foundation

/// How a scenario run is shown: a table a person reads at a glance, or JSON a program parses.
public enum ScenarioReport {
    /// One row per method (the first row is the header): what the text report and the HTML report
    /// show first.
    public static func summaryRows(_ run: ScenarioRun) -> [[String]] {
        var rows = [["method", "hosts", "answer", "right", "first token", "total", "bytes moved", "peak mem/host", "wall"]]
        for r in run.results {
            let o = r.outcome
            rows.append([
                o.name, "\(o.method.hosts)", quoted(r.answer, limit: 34), r.score.map(rightText) ?? "-",
                o.timeToFirstToken.map { "\($0)" } ?? "-", "\(o.report.finish)", formatBytes(o.bytesMoved),
                formatBytes(Int(o.peakMemoryPerHost)), String(format: "%.1f s", o.wallSeconds),
            ])
        }
        return rows
    }

    /// The human-readable report.
    public static func text(_ run: ScenarioRun) -> String {
        let s = run.scenario, c = s.cluster
        var out: [String] = []
        out.append("StarSim — \(s.name) (\(s.file))")
        var line = "model: \(run.modelName)   prompt: \(run.prompt.summary)"
        if !run.prompt.expected.isEmpty { line += "   expected: \(run.prompt.expected.joined(separator: ", "))" }
        out.append(line)
        out.append("cluster: \(c.hostCounts.map(String.init).joined(separator: ", ")) hosts × \(c.gpusPerHost) \(c.device), \(c.shape); links: \(c.interHostLink) between hosts, "
            + "\(c.intraHostLink) inside; timing: \(s.timing.rawValue)")
        out.append("")

        out += TextTable.lines(summaryRows(run))

        if !s.faults.isEmpty {
            out.append("")
            out.append("faults (recovery rules in Docs/Faults.md):")
            out += s.faults.lines.map { "  \($0)" }
            out += TextTable.lines(FaultImpact.table(run.results.map(\.faultImpact!)))
            for r in run.results where !r.skippedFaults.isEmpty {
                out.append("  \(r.outcome.name) runs on \(r.outcome.method.hosts) host(s): \(r.skippedFaults.joined(separator: ", ")) did not apply")
            }
            for r in run.results {
                for late in r.outcome.report.faults.notHappened { out.append("  \(r.outcome.name): did not happen — \(late)") }
            }
        }

        out.append("")
        out.append("per host — simulated compute time by phase, bytes sent, peak memory:")
        for r in run.results {
            let counters = r.outcome.counters
            for h in counters.hosts {
                let phases = counters.phases.map { p in "\(p) \(h.computeByPhase[p] ?? .zero)" }.joined(separator: "  ")
                out.append("  \(TextTable.pad(r.outcome.name, 10)) \(TextTable.pad("\(h.host)", 6)) \(phases)  sent \(formatBytes(h.bytesSent))  "
                    + "peak \(formatBytes(Int(h.peakMemoryBytes)))")
            }
        }
        let busyLinks = run.results.flatMap { r in r.outcome.counters.links.filter { $0.bytes > 0 }.map { (r.outcome.name, $0) } }
        if !busyLinks.isEmpty {
            out.append("")
            out.append("links with traffic — bytes by phase, utilisation:")
            for (name, l) in busyLinks {
                let phases = l.bytesByPhase.keys.sorted().map { "\($0) \(formatBytes(l.bytesByPhase[$0]!))" }.joined(separator: "  ")
                out.append("  \(TextTable.pad(name, 10)) \(TextTable.pad("\(l.link)", 14)) \(phases)  utilisation \(String(format: "%.2f%%", 100 * l.utilisation))")
            }
        }
        for r in run.results {
            out.append("")
            out.append("critical path of \(r.outcome.name): \(r.outcome.criticalPath.summary.split(separator: "\n").first ?? "")")
        }
        let traces = run.results.compactMap(\.traceFile)
        if !traces.isEmpty {
            out.append("")
            out.append("traces (open in https://ui.perfetto.dev or chrome://tracing):")
            out += traces.map { "  \($0)" }
        }
        if s.timeline {
            for r in run.results {
                out.append("")
                out.append("timeline of \(r.outcome.name):")
                out.append(TextTimeline.render(r.outcome.report.log, limit: 120))
            }
        }
        return out.joined(separator: "\n")
    }

    /// Where each host's context lies (token indices `[lo, hi)` of the prompt, with Star's anchors):
    /// what a researcher needs to line StarSim's blocks up with another implementation.
    static func layout(_ method: AttentionMethod) -> [[String: Any]] {
        switch method {
        case .global(let p):
            return [["host": 0, "blocks": [["tokens": [0, p.contextLength]]]]]
        case .apb(let p):
            return (0..<p.hosts).map { h in
                let r = p.star.blockTokens(h)
                let anchor = p.star.anchorRun(h).map { [$0.tokens.lowerBound, $0.tokens.upperBound] }
                return ["host": h, "blocks": [["block": h, "tokens": [r.lowerBound, r.upperBound], "anchor": anchor as Any]],
                        "passing": ["tokens": h < p.hosts - 1 ? p.passingSize : 0, "selection": p.selection.rawValue]] as [String: Any]
            }
        case .ulysses(let p):
            // Each host encodes its shard and keeps its head group's K,V of its ring group's tokens.
            return (0..<p.hosts).map { h in
                ["host": h, "blocks": p.shardRanges(h).map { ["tokens": [$0.lowerBound, $0.upperBound]] },
                 "head_group": [p.headGroup(h), p.headDegree], "ring_group": [p.ringGroup(h), p.ringDegree]] as [String: Any]
            }
        case .star(let p):
            return (0..<p.hosts).map { h in
                ["host": h, "blocks": p.blocks(onHost: h).map { i -> [String: Any] in
                    let r = p.blockTokens(i)
                    let anchor = p.anchorRun(i).map { [$0.tokens.lowerBound, $0.tokens.upperBound] }
                    return ["block": i, "tokens": [r.lowerBound, r.upperBound], "anchor": anchor as Any]
                }] as [String: Any]
            }
        case .ring(let p) where p.partition == .striped:
            // Every hosts-th token from the host's index: the stride, not a list of ranges. With a cached
            // prefix, `tokens` counts the new tokens and `cached_tokens` those held from an earlier turn.
            return (0..<p.hosts).map { h in
                var striped: [String: Any] = ["first": h, "stride": p.hosts, "tokens": p.newTokens(onHost: h)]
                if p.cachedLength > 0 { striped["cached_tokens"] = p.contextTokens(onHost: h) - p.newTokens(onHost: h) }
                return ["host": h, "striped": striped] as [String: Any]
            }
        case .ring(let p):
            return (0..<p.hosts).map { h in
                var host: [String: Any] = ["host": h, "blocks": p.chunks(onHost: h).map { c -> [String: Any] in
                    let r = p.chunkTokens(c)
                    return ["chunk": c, "tokens": [r.lowerBound, r.upperBound]]
                }]
                // K,V the host holds from an earlier turn (a persistent-KV prefill): not encoded in this run.
                if p.cachedLength > 0 { host["cached"] = p.cachedRuns(onHost: h).map { [$0.tokens.lowerBound, $0.tokens.upperBound] } }
                return host
            }
        }
    }

    /// The `k` largest logits of one step, `[[id, logit], …]`, largest first (ties: lower id).
    static func topLogits(_ logits: [Float], k: Int) -> [[Any]] {
        logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
            .prefix(k).map { [$0, Double(logits[$0])] }
    }

    /// The machine-readable report (stable key order). `topK`: logits of the first generated step
    /// per method.
    public static func json(_ run: ScenarioRun, topK: Int = 5) throws -> String {
        let methods: [[String: Any]] = run.results.map { r in
            let o = r.outcome
            let counters = o.counters
            return [
                "method": o.name,
                "plan": "\(o.method)",
                "hosts": o.method.hosts,
                "answer": r.answer,
                "score": r.score as Any,
                "generated_ids": o.generated.map { Int($0) },
                "layout": layout(o.method),
                "first_step_top_logits": o.logits.first.map { topLogits($0, k: topK) } as Any,
                "time_to_first_token_s": o.timeToFirstToken?.seconds as Any,
                "time_per_output_token_s": o.timePerOutputToken?.seconds as Any,
                "total_s": o.report.finish.seconds,
                "bytes_moved": o.bytesMoved,
                "messages": o.report.log.messageCount,
                "peak_memory_per_host_bytes": o.peakMemoryPerHost,
                "wall_s": o.wallSeconds,
                "trace": r.traceFile as Any,
                "faults": r.faultImpact?.json as Any,
                "per_host": counters.hosts.map { h in [
                    "host": h.host.rawValue, "bytes_sent": h.bytesSent, "bytes_received": h.bytesReceived,
                    "busy_s": h.busy.seconds, "idle_s": h.idle.seconds, "peak_memory_bytes": h.peakMemoryBytes,
                    "compute_s_by_phase": h.computeByPhase.mapValues(\.seconds).keyedByName,
                    "bytes_sent_by_phase": h.sentByPhase.keyedByName,
                ] as [String: Any] },
                "links": counters.links.filter { $0.bytes > 0 }.map { l in [
                    "from": l.link.from.rawValue, "to": l.link.to.rawValue, "bytes": l.bytes,
                    "bytes_by_phase": l.bytesByPhase.keyedByName, "utilisation": l.utilisation,
                ] as [String: Any] },
            ]
        }
        let doc: [String: Any] = [
            "scenario": run.scenario.name, "file": run.scenario.file, "model": run.modelName,
            "prompt": run.prompt.summary, "expected": run.prompt.expected,
            "context_tokens": run.prompt.split.context.count, "query_tokens": run.prompt.split.query.count,
            "context_ids": run.prompt.split.context.map { Int($0) }, "query_ids": run.prompt.split.query.map { Int($0) },
            "methods": methods,
        ]
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// One CSV row per method (header first): the summary table's numbers at full precision, seconds
    /// and bytes as plain numbers, empty when absent.
    public static func csv(_ run: ScenarioRun) -> String {
        func d(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
        var header = ["scenario", "method", "plan", "hosts", "answer", "score", "time_to_first_token_s",
                      "time_per_output_token_s", "total_s", "bytes_moved", "peak_memory_per_host_bytes", "wall_s", "trace"]
        let faults = !run.scenario.faults.isEmpty
        if faults {
            header += ["fault_free_time_to_first_token_s", "fault_free_total_s", "bytes_resent", "rerouted_messages",
                       "waiting_messages", "restarted_hosts", "critical_resource", "skipped_faults"]
        }
        let rows = run.results.map { r -> [String] in
            let o = r.outcome
            var row = [run.scenario.name, o.name, "\(o.method)", "\(o.method.hosts)", r.answer, d(r.score),
                       d(o.timeToFirstToken?.seconds), d(o.timePerOutputToken?.seconds), d(o.report.finish.seconds),
                       "\(o.bytesMoved)", "\(o.peakMemoryPerHost)", d(o.wallSeconds), r.traceFile ?? ""]
            if faults, let i = r.faultImpact {
                row += [d(i.timeToFirstToken.faultFree), d(i.total.faultFree), "\(i.bytesResent)", "\(i.reroutedMessages)",
                        "\(i.waitingMessages)", i.recoveries.map { "\($0.restartedHosts.count)" }.joined(separator: " "),
                        i.critical?.name ?? "", i.skipped.joined(separator: " ")]
            }
            return row
        }
        return CSV.document(header: header, rows: rows)
    }

    static func rightText(_ score: Double) -> String {
        score >= 1 ? "yes" : score <= 0 ? "no" : String(format: "%.0f%%", 100 * score)
    }

    static func quoted(_ s: String, limit: Int) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: "⏎")
        let cut = flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
        return "\"\(cut)\""
    }
}
