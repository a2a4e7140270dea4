import Cluster
import Foundation

extension HTMLReport {
    /// The report of a scenario run: the summary table, then one section per method on one time axis.
    public init(run: ScenarioRun) {
        let s = run.scenario, c = s.cluster
        var lines = ["model: \(run.modelName) · prompt: \(run.prompt.summary)"]
        if !run.prompt.expected.isEmpty { lines.append("expected: " + run.prompt.expected.joined(separator: ", ")) }
        lines.append("cluster: \(c.hostCounts.map(String.init).joined(separator: ", ")) hosts × \(c.gpusPerHost) \(c.device), "
            + "\(c.shape); links: \(c.interHostLink) between hosts, \(c.intraHostLink) inside; timing: \(s.timing.rawValue)")
        lines.append("All methods share one time axis: a shorter row finished sooner.")
        let sections = run.results.map { r -> Section in
            let o = r.outcome
            var notes = ["answer: \(r.answer.debugDescription)" + (r.score.map { $0 >= 1 ? " (right)" : $0 <= 0 ? " (wrong)" : "" } ?? "")]
            notes.append("first token at \(o.timeToFirstToken.map { "\($0)" } ?? "-"), finished at \(o.report.finish), "
                + "\(formatBytes(o.bytesMoved)) moved, peak memory per host \(formatBytes(Int(o.peakMemoryPerHost)))")
            return Section(title: "\(o.name) — \(o.method.hosts) host\(o.method.hosts == 1 ? "" : "s")", notes: notes,
                           layout: TimelineLayout(log: o.report.log, budget: .share(of: run.results.count)))
        }
        self.init(title: "StarSim — \(s.name)", lines: lines, summary: ScenarioReport.summaryRows(run),
                  sections: sections, sharedAxis: true)
    }

    /// The report of projections: the capacity table, then one section per configuration that kept
    /// its timeline (``CapacityProjection/project(_:trace:running:timeline:)`` with a budget), each on its own axis.
    /// - Parameter summary: the table shown first (default: the capacity table of `project`).
    public init(projections results: [ProjectionResult], title: String = "StarSim — projection", summary: [[String]]? = nil) {
        let (capacity, notes) = CapacityTable(results: results).rows()
        let table = summary ?? capacity
        let sections = results.enumerated().compactMap { i, r -> Section? in
            guard let layout = r.timeline else { return nil }
            let c = r.config
            var notes = ["TTFT \(CapacityTable.seconds(r.timeToFirstToken)), TPOT \(CapacityTable.seconds(r.timePerOutputToken)), "
                + "total \(CapacityTable.seconds(r.totalTime)); \(formatBytes(r.bytesMoved)) moved; peak memory per host "
                + "\(CapacityTable.bytes(r.peakMemoryPerHost)) of \(CapacityTable.bytes(r.hostCapacity))"]
            if let coverage = r.coverage { notes.append("coverage: \(coverage)") }
            return Section(title: "[\(i)] \(c.model.name) · \(c.method.rawValue) · \(TokenCount.format(c.contextLength)) · "
                + "\(CapacityTable.cluster(c)) \(c.device)", notes: notes, layout: layout)
        }
        self.init(title: title, lines: ["Projected (modeled kernels and links, simulated time)."] + notes,
                  summary: table, sections: sections, sharedAxis: false)
    }
}
