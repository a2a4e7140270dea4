import Cluster
import DistributedAttention
import Foundation

extension PatternComparison.Pattern {
    /// The pattern a planned method runs: its prefill and its phase-2 merge.
    public init(_ method: AttentionMethod) {
        switch method {
        case .global:
            self.init(method: .global)
        case .star(let p):
            let kind: MethodKind = p.anchorSize == 0 ? .starNoAnchor : p.anchorSource == .previousBlock ? .starPrevious : .star
            self.init(method: kind, phase2: p.phase2)
        case .ring(let p):
            let kind: MethodKind
            switch (p.exchange, p.partition) {
            case (.allGather, .zigzag): kind = .allGatherZigzag
            case (.allGather, .striped): kind = .allGatherStriped
            case (.allGather, _): kind = .allGather
            case (.passQ, .zigzag): kind = .ringZigzagPassQ
            case (.passQ, .striped): kind = .ringStripedPassQ
            case (.passQ, .contiguous): kind = .ringPassQ
            case (.ring, .zigzag): kind = .ringZigzag
            case (.ring, .striped): kind = .ringStriped
            case (.ring, .contiguous): kind = .ring
            }
            self.init(method: kind, phase2: p.phase2)
        case .ulysses(let p):
            self.init(method: p.ringDegree == 1 ? .ulysses : .usp)
        case .apb(let p):
            self.init(method: .apb, phase2: p.star.phase2)
        }
    }
}

extension PatternComparison {
    /// The methods of a real run side by side, with the same columns and verdicts as a projected
    /// comparison, and what the run measured: whether the answer was right and whether the generated
    /// tokens equal global attention's (when the scenario has `global`).
    public init(run: ScenarioRun) {
        let shape = run.shape ?? ModelShape(layers: 1, hidden: 1, heads: 1, kvHeads: 1, headDim: 1, ffn: 1, vocab: 1, bytesPerElement: 4)
        let model = ModelSpec(name: run.modelName, shape: shape, tiedEmbeddings: false)
        let c = run.scenario.cluster
        let global = run.results.first { if case .global = $0.outcome.method { true } else { false } }?.outcome.generated
        var rows: [(Pattern, ProjectionResult)] = []
        var measured: [String] = []
        for r in run.results {
            let o = r.outcome
            let pattern = Pattern(o.method)
            // Global runs on one host; it is compared with the largest cluster of the scenario.
            let hosts = pattern.method == .global ? (c.hostCounts.max() ?? 1) : o.method.hosts
            var config = ProjectionConfig(
                model: model, method: pattern.method, contextLength: o.method.contextLength, queryLength: o.method.queryLength,
                hosts: hosts, gpusPerHost: c.gpusPerHost, device: c.device, intraHostLink: c.intraHostLink,
                interHostLink: c.interHostLink)
            config.phase2 = pattern.phase2
            if case .star(let p) = o.method {
                config.blockSize = p.blockSize
                config.anchorSize = p.anchorSize
            }
            var result = ProjectionResult(config: config, status: .ok)
            result.record(o, timeline: .share(of: run.results.count))
            rows.append((pattern, result))
            var facts: [String] = []
            if let score = r.score { facts.append(score >= 1 ? "answer right" : score <= 0 ? "answer wrong" : String(format: "answer %.0f%% right", 100 * score)) }
            if let global, !(o.method.hosts == 1 && pattern.method == .global) {
                facts.append(o.generated == global ? "same tokens as global" : "tokens differ from global's")
            }
            measured.append(facts.joined(separator: ", "))
        }
        self.init(results: rows)
        for i in self.rows.indices where !measured[i].isEmpty {
            self.rows[i].verdict = measured[i] + "; " + self.rows[i].verdict
        }
    }
}

extension ProjectionResult {
    /// Takes a finished run's figures: times, bytes moved, peak memory, bytes per host and per link
    /// by phase, wall time; with a `timeline` budget, its layout and breakdown too (the log must be kept).
    mutating func record(_ o: MethodOutcome, timeline: TimelineLayout.Budget?) {
        wallSeconds = o.wallSeconds
        timeToFirstToken = o.timeToFirstToken.map(\.seconds)
        timePerOutputToken = o.timePerOutputToken.map(\.seconds)
        totalTime = o.sampleEnds.last.map { ($0 - .zero).seconds }
        bytesMoved = o.bytesMoved
        peakMemoryPerHost = o.peakMemoryPerHost
        let counters = o.counters
        for h in counters.hosts {
            for (tag, bytes) in h.sentByPhase.sorted(by: { $0.key < $1.key }) {
                guard let phase = Phase(tag: tag) else { continue }
                hostBytes.append(PhaseBytes(name: h.host.description, phase: phase, bytes: bytes))
            }
        }
        for l in counters.links where l.bytes > 0 {
            for (tag, bytes) in l.bytesByPhase.sorted(by: { $0.key < $1.key }) {
                guard let phase = Phase(tag: tag) else { continue }
                linkBytes.append(PhaseBytes(name: l.link.description, phase: phase, bytes: bytes))
            }
        }
        if let timeline {
            self.timeline = TimelineLayout(log: o.report.log, budget: timeline)
            breakdown = Breakdown(outcome: o)
        }
    }
}

extension ProjectionResult.Breakdown {
    /// Where a finished run's time went (its critical path, and the hosts' context-encoding compute).
    public init(outcome o: MethodOutcome) {
        let path = o.criticalPath
        let prefill = o.counters.hosts.map { ($0.computeByPhase[Phase.contextEncoding.tag] ?? .zero).seconds }
        let mean = prefill.isEmpty ? 0 : prefill.reduce(0, +) / Double(prefill.count)
        self.init(compute: path.computeTime.seconds, transfer: path.transferTime.seconds, waiting: path.waitingTime.seconds,
                  heaviestResource: path.heaviestResource?.name, prefillImbalance: mean > 0 ? (prefill.max() ?? 0) / mean : 1)
    }
}
