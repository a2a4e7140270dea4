import ConfigFiles
import DistributedAttention
import Foundation
import Testing
import TestSupport
@testable import StarSim
@testable import StarSimCLI

/// The teaching outputs — narrated runs, the predict-then-reveal quiz, the HTML report and where it
/// may be written — on real runs of a tiny model built in the test (2 layers, 4 heads, 2 KV heads).
@Suite struct TeachingTests {
    static let run: ScenarioRun = {
        let yaml = """
            name: teach
            model: \(ScenarioPrepareTests.modelFile)
            prompt: {kind: raw, context: "\(String(repeating: "abcdefgh ", count: 24))", query: "what is it?"}
            cluster: {hosts: 3}
            methods: [global, star, ring]
            generate: 3
            """
        return try! ScenarioRun.execute(try! Scenario.parse(ConfigNode.parse(yaml, file: "teach.yaml")))
    }()

    static func result(_ name: String) -> ScenarioRun.MethodResult { run.results.first { $0.outcome.name == name }! }

    // MARK: Narration

    @Test func theStorySaysWhoHoldsWhatAtWhichPositions() throws {
        let text = Narration.text(Self.run)
        guard case .star(let plan) = Self.result("star").outcome.method else { Issue.record("star is not star"); return }
        let b2 = plan.blockTokens(2), anchor = try #require(plan.anchorRun(2))
        #expect(text.contains("host2 encodes anchor tokens 0..<\(anchor.tokens.upperBound) at positions 0…\(anchor.tokens.upperBound - 1), "
            + "then block 2 = tokens \(b2.lowerBound)..<\(b2.upperBound)"))
        #expect(text.contains("the position jumps from \(anchor.tokens.upperBound - 1) to \(b2.lowerBound)"))
        #expect(text.contains("host0 encodes block 0") && text.contains("with no anchor"))
        #expect(text.contains("host2 is the query host"))
        for phase in ["Phase 1 — context encoding", "Phase 2 — the query attends", "Phase 2 — generated tokens"] {
            #expect(text.contains(phase), "\(phase)")
        }
        // Ring's K,V messages: named with receiver, count per layer, link and bytes.
        let ringBytes = Self.result("ring").outcome.report.log.records.reduce(0) { n, r in
            if case .transfer(let t) = r, t.from.rawValue == 0, t.phase == "context" { n + t.bytes } else { n }
        }
        #expect(text.contains("→ sends host1 "), "ring's first host sends to the next")
        #expect(text.contains("\(formatBytes(ringBytes)) in all over host0->host1"))
        #expect(text.contains("⧗ waits"))
        #expect(text.contains("Why it took this long: critical path:"))
    }

    /// Repeated layers fold into one line; `--narrate=all` tells every compute step.
    @Test func repeatedLayersAreFoldedUnlessAllIsAsked() {
        let summary = Narration.text(Self.run), all = Narration.text(Self.run, detail: .all)
        #expect(summary.contains("(layers 0–1: the same pattern)"))
        let steps = Self.run.results.reduce(0) { n, r in
            n + r.outcome.report.log.records.reduce(0) { m, rec in if case .compute = rec { m + 1 } else { m } }
        }
        let stepLines = all.split(separator: "\n").filter { $0.contains(" for ") && !$0.contains("waited") }.count
        #expect(stepLines >= steps, "\(stepLines) lines for \(steps) compute steps")
        #expect(summary.split(separator: "\n").count * 3 < all.split(separator: "\n").count)
    }

    /// The merge numbers are the real merge's: the weights sum to 1, Σ w·o is the output the layer
    /// continued with, and Ring (exact) matches global attention at the same layer and head.
    @Test func theMergeIsShownWithTheRunsOwnNumbers() throws {
        for name in ["star", "ring"] {
            let probe = try #require(Self.result(name).outcome.mergeProbe, "\(name)")
            #expect(probe.point == MergeProbe.Point(layer: 1, head: 0))
            #expect(probe.parts.count == 3 && Set(probe.parts.map(\.source)) == [0, 1, 2], "\(name): \(probe.parts.map(\.source))")
            let lses = probe.parts.map { Double($0.lse) }
            let m = lses.max()!
            let total = m + log(lses.reduce(0) { $0 + exp($1 - m) })
            let weights = lses.map { exp($0 - total) }
            #expect(abs(weights.reduce(0, +) - 1) < 1e-9)
            for i in probe.output.indices {
                let merged = zip(weights, probe.parts).reduce(0.0) { $0 + $1.0 * Double($1.1.values[i]) }
                #expect(abs(merged - Double(probe.output[i])) < 1e-5, "\(name) value \(i)")
            }
        }
        let global = try #require(Self.result("global").outcome.mergeProbe)
        #expect(global.parts.isEmpty && global.output.count == MergeProbe.shownValues)
        let ring = try #require(Self.result("ring").outcome.mergeProbe)
        for (a, b) in zip(ring.output, global.output) { #expect(abs(a - b) < 1e-4) }
        let text = Narration.text(Self.run)
        #expect(text.contains("the weights sum to 1.000000"))
        #expect(text.contains("global attention at the same layer and head"))
    }

    @Test func theProbeIsCheckedAgainstTheModel() throws {
        var prepared = try ScenarioRun.prepare(Self.run.scenario)
        #expect(throws: StarSimError.self) { try prepared.setProbe(layer: 2, head: nil) }
        do { try prepared.setProbe(layer: nil, head: 4) } catch {
            #expect(error.description.contains("--narrate-head") && error.description.contains("0 to 3"))
        }
        try prepared.setProbe(layer: 0, head: 3)
        #expect(prepared.probe == MergeProbe.Point(layer: 0, head: 3))
    }

    // MARK: Quiz

    @Test func theQuizAnswersAreTheRunsAndTheFormulasAgree() throws {
        let quiz = Quiz.questions(Self.run)
        #expect(quiz.questions.map(\.kind) == [.bytes, .bytes, .host])
        let shape = try #require(Self.run.shape)
        guard case .ring(let ring) = Self.result("ring").outcome.method else { Issue.record("ring"); return }
        // Ring's prefill bytes: measured on the run, equal to the closed form, which the formula shows.
        let closed = ring.analyticTraffic(shape: shape, sampledTokens: 1).total(phase: .contextEncoding)
        #expect(quiz.questions[0].answer == Double(closed))
        #expect(quiz.questions[0].formula.hasSuffix("= \(formatBytes(closed))"))
        // Star's generation bytes per generated token.
        let star = Self.result("star").outcome
        let generation = star.report.log.records.reduce(0) { n, r in if case .transfer(let t) = r, t.phase == "generation" { n + t.bytes } else { n } }
        #expect(quiz.questions[1].answer == Double(generation / (star.generated.count - 1)))
        // The host whose phase 1 ends last (ties are all right).
        var ends: [Int: Int64] = [:]
        for r in star.report.log.records {
            if case .compute(let c) = r, c.phase == "context" { ends[c.host.rawValue] = max(ends[c.host.rawValue] ?? 0, c.end.nanoseconds) }
        }
        let latest = ends.values.max()!
        let q = quiz.questions[2]
        #expect(Set([Int(q.answer)] + q.ties) == Set(ends.filter { $0.value == latest }.keys))
        for host in ends.keys {
            #expect(Quiz.reveal(q, guess: Double(host)).contains("— right") == (ends[host] == latest), "host\(host)")
        }
    }

    @Test func theQuizAsksAgainOnNonsenseAndRevealsEveryAnswer() {
        let quiz = Quiz.questions(Self.run)
        var input = ["lots", "40 MB", "", "host2"][...]
        var said: [String] = []
        let guesses = quiz.conduct(read: { input.popFirst() }, write: { said.append($0) })
        #expect(guesses == [40e6, nil, 2])
        #expect(said.contains { $0.contains("'lots' is not an amount of bytes") })
        #expect(said.filter { $0.hasPrefix("  answer:") }.count == 3)
        #expect(said.contains { $0.contains("you said 40.00 MB") })
        // End of input stops asking but still reveals.
        let none = quiz.conduct(read: { nil }, write: { _ in })
        #expect(none == [nil, nil, nil])
    }

    @Test(arguments: [("40 MB", 40e6), ("512 KiB", 524_288), ("3.5e7", 3.5e7), ("1,000 b", 1000), ("2g", 2e9)])
    func bytesAnswersAreRead(_ text: String, _ value: Double) {
        #expect(Quiz.parse(text, kind: .bytes) == value)
    }

    @Test func badAnswersAreNotNumbers() {
        for text in ["-3", "abc", "nan", "inf", "MB", "host"] { #expect(Quiz.parse(text, kind: .bytes) == nil, "\(text)") }
        #expect(Quiz.parse("host2", kind: .host) == 2 && Quiz.parse(" 3 ", kind: .host) == 3 && Quiz.parse("two", kind: .host) == nil)
    }

    // MARK: HTML report

    @Test func theReportIsOneFileWithALanePerHostAndAnArrowPerMessage() {
        let html = HTMLReport(run: Self.run).render()
        #expect(html.hasPrefix("<!DOCTYPE html>\n"))
        #expect(String(html.prefix(512)).contains("<!-- generator: starsim -->"))
        #expect(html.hasSuffix("</html>\n"))
        let sections = html.components(separatedBy: "<section class=\"run\"").dropFirst()
        #expect(sections.count == 3)
        for (section, r) in zip(sections, Self.run.results) {
            let log = r.outcome.report.log
            #expect(section.components(separatedBy: "class=\"lane host\"").count - 1 == log.hosts.count, "\(r.outcome.name)")
            let busy = r.outcome.counters.links.filter { $0.bytes > 0 }.count
            #expect(section.components(separatedBy: "class=\"lane link\"").count - 1 == busy, "\(r.outcome.name)")
            #expect(section.components(separatedBy: "<line class=\"arrow").count - 1 == log.messageCount, "\(r.outcome.name)")
        }
        // Nothing is fetched: no external scripts, styles, images or fonts.
        for needle in ["src=", "href=\"http", "@import", "url(http"] { #expect(!html.contains(needle), "\(needle)") }
    }

    @Test func textFromTheRunIsEscaped() throws {
        var run = Self.run
        run.scenario.name = "<script>alert(1)</script> & \"x\""
        let html = HTMLReport(run: run).render()
        #expect(!html.contains("<script>alert(1)"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;"))
        #expect(html.components(separatedBy: "<script>").count == 2, "only the report's own script")
    }

    @Test func aProjectionKeepsItsTimelineForTheReport() {
        let config = ProjectionConfig(model: .llama31_8B, method: .star, contextLength: 64 * 1024, hosts: 4, gpusPerHost: 1,
                                      device: "h100-sxm", intraHostLink: "nvlink-h100", interHostLink: "ib-ndr")
        let plain = CapacityProjection.project(config)
        let kept = CapacityProjection.project(config, timeline: TimelineLayout.Budget())
        #expect(plain.timeline == nil)
        let layout = kept.timeline
        #expect(layout?.lanes.filter { $0.kind == .host }.count == 4)
        #expect(kept.timeToFirstToken == plain.timeToFirstToken, "keeping the log changes nothing")
        let html = HTMLReport(projections: [kept, plain]).render()
        #expect(html.components(separatedBy: "<section class=\"run\"").count - 1 == 1)
        #expect(html.contains("llama-3.1-8b"))
    }

    // MARK: Where the report may go

    @Test func theReportNeverReplacesAnInputOrAForeignFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let scenario = try dir.write("s.yaml", "name: x\n")
        let report = HTMLReport(title: "t", sections: [], sharedAxis: true)
        // The scenario itself: refused even with --force, and left as it was.
        for force in [false, true] {
            let error = #expect(throws: StarSimError.self) {
                try HTMLReportFile(path: scenario, force: force, inputs: [scenario]).write(report)
            }
            #expect(error?.description.contains("an input of this run") == true)
        }
        // Through another spelling of the same path.
        #expect(throws: StarSimError.self) {
            try HTMLReportFile(path: dir.path + "/./s.yaml", force: true, inputs: [scenario]).check()
        }
        #expect(try String(contentsOfFile: scenario, encoding: .utf8) == "name: x\n")
        // A file StarSim did not write: only with --force.
        let foreign = try dir.write("notes.html", "<p>mine</p>")
        let refused = #expect(throws: StarSimError.self) { try HTMLReportFile(path: foreign).write(report) }
        #expect(refused?.description.contains("was not written by StarSim") == true)
        #expect(try String(contentsOfFile: foreign, encoding: .utf8) == "<p>mine</p>")
        try HTMLReportFile(path: foreign, force: true).write(report)
        // Its own report is replaced without --force.
        let mine = dir.path + "/r.html"
        try HTMLReportFile(path: mine).write(report)
        try HTMLReportFile(path: mine).write(report)
        // More runs than one report draws: refused before any work, naming --html and the bound.
        let many = #expect(throws: StarSimError.self) { try HTMLReportFile(path: mine).check(drawing: HTMLReportFile.maxConfigurations + 1) }
        #expect(many?.description.contains("--html") == true && many?.description.contains("at most 32") == true)
        try HTMLReportFile(path: mine).check(drawing: HTMLReportFile.maxConfigurations)
        // A directory, or a path under a file: clear errors naming --html.
        for bad in [dir.path + "/", scenario + "/r.html", dir.path] {
            let error = #expect(throws: StarSimError.self) { try HTMLReportFile(path: bad).check() }
            #expect(error?.description.contains("--html") == true, "\(bad): \(String(describing: error))")
        }
    }

    // MARK: The command line

    private func failure(_ arguments: [String], terminal: Bool = false) throws -> CommandFailure? {
        let command = try StarSimCommand.parseAsRoot(rewritten(arguments))
        guard let run = command as? Run else { Issue.record("not run"); return nil }
        do { try run.checkModes(standardInputIsTerminal: terminal) } catch let f as CommandFailure { return f }
        return nil
    }

    @Test func teachingModesRefuseWhatTheyCannotDo() throws {
        let quiz = try failure(["run", "s.yaml", "--quiz"])
        #expect(quiz?.code == 2 && quiz?.message.contains("needs a terminal") == true)
        #expect(try failure(["run", "s.yaml", "--quiz"], terminal: true) == nil)
        let json = try failure(["run", "s.yaml", "--narrate", "--json"])
        #expect(json?.message.contains("--narrate") == true && json?.message.contains("--json") == true)
        let layer = try failure(["run", "s.yaml", "--narrate-layer", "3"])
        #expect(layer?.message.contains("add --narrate") == true)
        #expect(try failure(["run", "s.yaml", "--narrate=all", "--narrate-layer", "3"]) == nil)
        let all = try StarSimCommand.parseAsRoot(rewritten(["run", "s.yaml", "--narrate=all"])) as? Run
        #expect(all?.narration == .all)
        let summary = try StarSimCommand.parseAsRoot(rewritten(["run", "s.yaml", "--narrate"])) as? Run
        #expect(summary?.narration == .summary)
    }
}
