import Foundation
import Testing
import TestSupport
@testable import StarSim

/// `starsim compare`: patterns, rows and the verdicts' facts checked against the projections' numbers.
@Suite struct PatternComparisonTests {
    static let comparison: PatternComparison = {
        var base = ProjectionSweep(models: [.llama31_8B], contexts: [32 * 1024, 128 * 1024])
        base.hosts = [8]
        base.gpusPerHost = [1]
        base.device = "h100-sxm"
        base.intraHostLink = "nvlink-h100"
        base.interHostLink = "ethernet-25g"
        base.methods = [.star]
        base.generate = 8
        let patterns = try! PatternComparison.Pattern.parseList("star,star+tree,ring,ring-zigzag,allgather-zigzag")
        return PatternComparison(base: base, patterns: patterns)
    }()

    @Test func patternsAreParsedAndBadOnesNamed() throws {
        #expect(try PatternComparison.Pattern.parse("star+tree") == .init(method: .star, phase2: .tree))
        #expect(try PatternComparison.Pattern.parse(" ring-zigzag+all-gather ") == .init(method: .ringZigzag, phase2: .allGather))
        #expect(try PatternComparison.Pattern.parse("allgather").description == "allgather")
        for (bad, words) in [("global+tree", "global has no phase-2"), ("usp+tree", "no phase-2 merge to choose"), ("star+ring", "PHASE2 one of"), ("flash", "expected one of global, star"),
                             ("", "a pattern"), ("star,star", "each pattern once")] {
            let error = #expect(throws: StarSimError.self) { _ = try PatternComparison.Pattern.parseList(bad) }
            #expect(error?.description.contains("--patterns") == true && error?.description.contains(words) == true,
                    "\(bad): \(String(describing: error))")
        }
        #expect(try !PatternComparison.Pattern.parse("star-prev").isExact && PatternComparison.Pattern.parse("ring").isExact)
    }

    @Test func oneRowPerPatternAndContextWithVerdictsFromTheNumbers() throws {
        let rows = Self.comparison.rows
        #expect(rows.count == 10 && rows.allSatisfy { $0.result.status == .ok && $0.result.breakdown != nil })
        for context in [32 * 1024, 128 * 1024] {
            let at = rows.filter { $0.result.config.contextLength == context }
            let best = at.min { $0.result.timeToFirstToken! < $1.result.timeToFirstToken! }!
            #expect(best.verdict.hasPrefix("fastest first token"), "\(best.pattern): \(best.verdict)")
            for row in at where row.result.timeToFirstToken! > best.result.timeToFirstToken! * 1.005 {
                let ratio = row.result.timeToFirstToken! / best.result.timeToFirstToken!
                #expect(row.verdict.hasPrefix(String(format: "first token %.2f× the fastest", ratio)), "\(row.pattern): \(row.verdict)")
            }
            for row in at {
                let b = row.result.breakdown!
                // Link- or compute-bound as the critical path says, and the share printed is the path's.
                if b.linkShare >= 0.25 {
                    #expect(row.verdict.contains(String(format: "link-bound: %.0f%%", 100 * b.linkShare)), "\(row.verdict)")
                } else {
                    #expect(row.verdict.contains(String(format: "compute-bound: %.0f%%", 100 * (1 - b.linkShare))), "\(row.verdict)")
                }
                #expect(row.verdict.contains("approximate") == !row.pattern.isExact)
                if !row.pattern.isExact {
                    // Blocks of L/8 (anchor = block) at these lengths: L/(2a+b) = 8/3 ≈ 2.7× fewer pairs.
                    #expect(row.verdict.contains("about 2.7× fewer attention pairs"), "\(row.verdict)")
                }
                // The path ends with the last compute or message (the last token's broadcast can end a little
                // after the last sample): within 0.1 ms of the run's end.
                #expect(abs(b.compute + b.transfer + b.waiting - row.result.totalTime!) < 1e-4, "the path covers the run")
            }
            // Star moves no K,V in prefill; the ring patterns move (H−1)/H of the context's K,V per host.
            let star = at.first { $0.pattern.description == "star" }!, ring = at.first { $0.pattern.description == "ring" }!
            #expect(CapacityTable.maxHostBytes(star.result, .contextEncoding) == 0)
            #expect(CapacityTable.maxHostBytes(ring.result, .contextEncoding) > 0)
            // Causal imbalance: the contiguous ring computes more unevenly than the zigzag one.
            let zigzag = at.first { $0.pattern.description == "ring-zigzag" }!
            #expect(ring.result.breakdown!.prefillImbalance > zigzag.result.breakdown!.prefillImbalance)
            if ring.result.breakdown!.prefillImbalance >= 1.2 { #expect(ring.verdict.contains("uneven prefill")) }
        }
    }

    @Test func outputsAreReadableAndParseable() throws {
        let c = Self.comparison
        let csv = c.csv().split(separator: "\n")
        #expect(csv.count == 11 && csv[0].hasPrefix("context_tokens,pattern,method,phase2,exact"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(c.json().utf8)) as? [String: Any])
        let rows = try #require(json["rows"] as? [[String: Any]])
        #expect(rows.count == 10 && rows.allSatisfy { ($0["verdict"] as? String)?.isEmpty == false })
        let text = c.text()
        #expect(text.contains("128K ring: ") && text.contains("pattern"))
        let html = HTMLReport(projections: c.rows.map(\.result), title: "compare", summary: c.table()).render()
        #expect(html.components(separatedBy: "<section class=\"run\"").count - 1 == 10)
        #expect(html.contains("<th>verdict</th>"))
        let svg = c.chart()
        #expect(svg.contains("<!-- generator: starsim -->"))
        for p in ["star+tree", "ring-zigzag", "allgather-zigzag"] { #expect(svg.contains(p)) }
    }

    /// One context over several cluster sizes (a scenario with `hosts: [2, 4]`): the chart draws TTFT
    /// against hosts under its own file name, and each verdict names its cluster.
    @Test func oneContextOnSeveralClustersChartsHosts() throws {
        let results = [2, 4].flatMap { h in
            [MethodKind.ringZigzag, .star].map { m in
                (PatternComparison.Pattern(method: m), CapacityProjection.project(CapacityTests.small(m, hosts: h)))
            }
        }
        let c = PatternComparison(results: results)
        #expect(c.chartsHosts && c.chartFileName == PatternComparison.hostsChartName)
        let svg = c.chart()
        #expect(svg.contains(">hosts</text>") && svg.contains("2K tokens"))
        #expect(c.text().contains("2K star on 2x1: ") && c.text().contains("2K star on 4x1: "))
        // One cluster size: TTFT against context, verdicts without the cluster.
        let one = PatternComparison(results: Array(results.prefix(2)))
        #expect(!one.chartsHosts && one.chartFileName == PatternComparison.chartName && one.chart().contains(">context tokens</text>"))
        #expect(one.text().contains("2K star: "))
    }

    /// A real run compared the same way, with what the run measured.
    @Test func aRealRunIsComparedWithItsMeasuredAnswers() throws {
        let run = TeachingTests.run
        let c = PatternComparison(run: run)
        #expect(c.rows.map(\.pattern.description) == ["global", "star", "ring"])
        for (row, r) in zip(c.rows, run.results) {
            #expect(row.result.timeToFirstToken == r.outcome.timeToFirstToken?.seconds)
            #expect(row.result.bytesMoved == r.outcome.bytesMoved)
            #expect(row.result.timeline?.messageCount == r.outcome.report.log.messageCount)
            #expect(!row.verdict.isEmpty)
        }
        // Ring is exact: the same tokens as global attention, said in its verdict; global is not compared with itself.
        #expect(run.results[2].outcome.generated == run.results[0].outcome.generated)
        #expect(c.rows[2].verdict.contains("same tokens as global"))
        #expect(!c.rows[0].verdict.contains("global"))
        // Global (one host) is a peer of the 3-host runs: exactly one row is the fastest.
        #expect(c.rows.filter { $0.verdict.contains("fastest first token") }.count >= 1)
        #expect(c.rows[0].result.config.hosts == 3 && c.rows[0].result.config.effectiveHosts == 1)
    }
}
