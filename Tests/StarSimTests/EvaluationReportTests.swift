import Foundation
import Llama
import StarSim
import Testing

/// Table, JSON and CSV of `starsim eval` on hand-made results, relative accuracy, and a whole
/// suite run on a tiny random model.
@Suite struct EvaluationReportTests {
    static let global = EvaluationMethod(kind: .global, hosts: 1)
    static let star = EvaluationMethod(kind: .star, hosts: 4)
    static let noAnchor = EvaluationMethod(kind: .starNoAnchor, hosts: 4, label: "star-noanchor")
    static let ring = EvaluationMethod(kind: .ring, hosts: 4)

    static func r(_ task: String, _ context: Int, _ m: EvaluationMethod, _ sample: Int, _ score: Double,
                  _ output: String = "x") -> EvaluationResult {
        EvaluationResult(task: task, context: context, contextTokens: context + 3, queryTokens: 20, method: m,
                         sample: sample, seed: UInt64(sample + 1), output: output, score: score)
    }

    static let handMade: [EvaluationResult] = [
        r("passkey", 2048, global, 0, 1, "12345"), r("passkey", 2048, star, 0, 1), r("passkey", 2048, noAnchor, 0, 0), r("passkey", 2048, ring, 0, 1, "12345"),
        r("passkey", 2048, global, 1, 1, "777"), r("passkey", 2048, star, 1, 0), r("passkey", 2048, noAnchor, 1, 0), r("passkey", 2048, ring, 1, 1, "778"),
        r("passkey", 2048, global, 2, 0, "9"), r("passkey", 2048, star, 2, 0), r("passkey", 2048, noAnchor, 2, 1), r("passkey", 2048, ring, 2, 0, "9"),
        r("common-words", 2048, global, 0, 0), r("common-words", 2048, star, 0, 0.2),
        r("common-words", 2048, global, 1, 0), r("common-words", 2048, star, 1, 0.3),
    ]

    @Test func relativeAccuracyIsARatioAndNotApplicableWhenGlobalScoredZero() {
        #expect(EvaluationReport.relative(0.45, to: 0.9) == 0.5)
        #expect(EvaluationReport.relative(1, to: 0.5) == 2)
        #expect(EvaluationReport.relative(0.5, to: 0) == nil)
        #expect(EvaluationReport.relative(0, to: 0) == nil)
        #expect(EvaluationReport.relative(0.5, to: nil) == nil)
    }

    @Test func cellsAverageSamplesAndCompareWithGlobal() throws {
        let cells = EvaluationReport.cells(Self.handMade)
        #expect(cells.map(\.method.label) == ["global", "star", "star-noanchor", "ring", "global", "star"])
        #expect(cells.map(\.samples) == [3, 3, 3, 3, 2, 2])
        #expect(abs(cells[0].accuracy - 2.0 / 3) < 1e-12 && abs(cells[1].accuracy - 1.0 / 3) < 1e-12)
        #expect(cells[0].relativeToGlobal == nil)
        #expect(abs(cells[1].relativeToGlobal! - 0.5) < 1e-12)
        #expect(abs(cells[2].relativeToGlobal! - 0.5) < 1e-12)
        #expect(cells[3].relativeToGlobal == 1 && cells[3].sameAnswerAsGlobal == 2)
        #expect(abs(cells[5].accuracy - 0.25) < 1e-12 && cells[5].relativeToGlobal == nil)
    }

    @Test func tableShowsAccuracyRelativeAccuracyAndMeans() {
        let report = EvaluationReport(suite: "t", model: "m.gguf", samples: 3, wallSeconds: 1, results: Self.handMade)
        #expect(report.table == """
            task             context  method         hosts  block  anchor          n  accuracy %  vs global  same answer
            ---------------  -------  -------------  -----  -----  --------------  -  ----------  ---------  -----------
            passkey          2K       global             1  -      -               3        66.7  -                    -
            passkey          2K       star               4  L/4    =block (first)  3        33.3  50%                0/3
            passkey          2K       star-noanchor      4  L/4    none            3        33.3  50%                0/3
            passkey          2K       ring               4  -      -               3        66.7  100%               2/3
            common-words     2K       global             1  -      -               2         0.0  -                    -
            common-words     2K       star               4  L/4    =block (first)  2        25.0  n/a                2/2

            mean of 2 tasks  2K       global             1  -      -               5        33.3  -                    -
            mean of 2 tasks  2K       star               4  L/4    =block (first)  5        29.2  87%                2/5

            """)
        #expect(report.markdownTable == """
            | task | context | method | hosts | block | anchor | n | accuracy % | vs global | same answer |
            |---|---|---|---|---|---|---|---|---|---|
            | passkey | 2K | global | 1 | - | - | 3 | 66.7 | - | - |
            | passkey | 2K | star | 4 | L/4 | =block (first) | 3 | 33.3 | 50% | 0/3 |
            | passkey | 2K | star-noanchor | 4 | L/4 | none | 3 | 33.3 | 50% | 0/3 |
            | passkey | 2K | ring | 4 | - | - | 3 | 66.7 | 100% | 2/3 |
            | common-words | 2K | global | 1 | - | - | 2 | 0.0 | - | - |
            | common-words | 2K | star | 4 | L/4 | =block (first) | 2 | 25.0 | n/a | 2/2 |
            | mean of 2 tasks | 2K | global | 1 | - | - | 5 | 33.3 | - | - |
            | mean of 2 tasks | 2K | star | 4 | L/4 | =block (first) | 5 | 29.2 | 87% | 2/5 |

            """)
    }

    @Test func jsonRoundTripsAndCsvQuotes() throws {
        var results = Self.handMade
        results[1].output = "The pass key is \"12345\", I think\nyes"
        results[1].expected = ["12345"]
        results[0].depth = 0.5
        let report = EvaluationReport(suite: "t", model: "m.gguf", samples: 3, wallSeconds: 12.5, results: results)
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(report.json().utf8))
        #expect(decoded.results == report.results && decoded.cells == report.cells)
        #expect(decoded.suite == "t" && decoded.wallSeconds == 12.5)
        let lines = report.csv.components(separatedBy: "\n")
        #expect(lines[0] == "task,context,context_tokens,query_tokens,method,kind,hosts,block,anchor,sample,seed,depth,score,seconds,expected,output")
        #expect(lines[1] == "passkey,2048,2051,20,global,global,1,,,0,1,0.5000,1.0000,0.00,,12345")
        #expect(lines[2] == "passkey,2048,2051,20,star,star,4,,,0,1,,1.0000,0.00,12345,\"The pass key is \"\"12345\"\", I think")
        #expect(lines[3] == "yes\"")
        #expect(report.csv.hasSuffix("\n"))
    }

    // MARK: - A suite on a tiny random model

    static let session: ModelSession = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-eval-tiny-\(getpid()).gguf").path
        let config = LlamaConfig(hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 4, kvHeadCount: 2,
                                 headDim: 16, vocabularySize: 259, contextLength: 2048)
        try! TinyLlama.write(config: config, seed: 3, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try! ModelSession(path: path)
    }()

    @Test func aSuiteRunGivesOneResultPerCellAndSampleWithOnePromptPerSample() throws {
        let methods = EvaluationSuite.expand(kinds: [.global, .star, .starNoAnchor, .starPrevious, .ring], hosts: [3],
                                             blocks: [nil], anchors: [nil])
        let suite = EvaluationSuite(
            name: "tiny", parts: [EvaluationPart(tasks: [.passkey, .multikey], contexts: [400, 600], methods: methods)],
            samples: 2, seed: 9, generate: [.passkey: 3, .multikey: 3], answerPrefix: false)
        try suite.validate(modelContext: 2048, fields: .options)
        var lines: [String] = []
        let results = try suite.run(session: Self.session, setup: { hosts in
            try ClusterSetup.named(hosts: hosts, gpusPerHost: 1, device: "cpu-local", intraHostLink: "nvlink-a100",
                                   interHostLink: "ib-hdr", shape: .fullyConnected)
        }, progress: { lines.append($0.line) })
        #expect(results.count == 2 * 2 * 5 * 2)
        #expect(lines.count == results.count)
        #expect(lines.last?.hasPrefix("[40/40] niah-multikey 600 sample 2/2 ring: ") == true)

        // One result per (task, context, method, sample).
        struct Key: Hashable { var task: String; var context: Int; var method: String; var sample: Int }
        #expect(Set(results.map { Key(task: $0.task, context: $0.context, method: $0.method.label, sample: $0.sample) }).count == results.count)

        // Every method of a sample read the same prompt, the one `prepare` builds for that seed and depth.
        struct Prompt: Hashable { var task: String; var context: Int; var sample: Int }
        let byPrompt = Dictionary(grouping: results) { Prompt(task: $0.task, context: $0.context, sample: $0.sample) }
        #expect(byPrompt.count == 8)
        for (p, rs) in byPrompt {
            #expect(Set(rs.map(\.promptFingerprint)).count == 1, "\(p)")
            #expect(Set(rs.map(\.contextTokens)).count == 1 && Set(rs.map(\.queryTokens)).count == 1)
            let kind = EvaluationTask.Kind(rawValue: p.task)!
            let again = Self.session.prepare(task: EvaluationTask(
                kind: kind, contextTokens: p.context, depth: (Double(p.sample) + 0.5) / 2, seed: 9 + UInt64(p.sample)))
            // Without the answer prefix the query ends at the assistant header.
            let split = Self.session.splitPrompt(document: again.instance!.context, question: again.instance!.question, answerPrefix: "")
            #expect(split.context == again.split.context && split.query.count < again.split.query.count)
            #expect(rs[0].promptFingerprint == EvaluationSuite.fingerprint(split.context + [-1] + split.query))
            #expect(rs[0].expected == again.expected)
            // Ring is exact: same greedy answer as global.
            let global = rs.first { $0.method.kind == .global }!, ring = rs.first { $0.method.kind == .ring }!
            #expect(ring.output == global.output)
            // Scores are RULER's string_match_all of the decoded output.
            for r in rs { #expect(r.score == again.instance!.score(r.output)) }
            // Star used the paper's defaults: block = ⌈L/H⌉, anchor = block (none for star-noanchor).
            let star = rs.first { $0.method.kind == .star }!, none = rs.first { $0.method.kind == .starNoAnchor }!
            #expect(star.blockTokens == (star.contextTokens + 2) / 3 && star.anchorTokens == star.blockTokens)
            #expect(none.anchorTokens == 0)
        }
        // Different samples are different prompts.
        #expect(Set(results.map(\.promptFingerprint)).count == 8)
        let report = EvaluationReport(suite: "tiny", model: "tiny", samples: 2, wallSeconds: 0, results: results)
        #expect(report.cells.count == 2 * 2 * 5)
    }

    @Test func withTheAnswerPrefixThePromptIsTheOnePrepareBuilds() throws {
        let methods = EvaluationSuite.expand(kinds: [.global, .star], hosts: [2], blocks: [nil], anchors: [nil])
        let suite = EvaluationSuite(
            name: "tiny", parts: [EvaluationPart(tasks: [.passkey], contexts: [300], methods: methods)],
            samples: 1, seed: 4, generate: [.passkey: 2], answerPrefix: true)
        let results = try suite.run(session: Self.session, setup: { hosts in
            try ClusterSetup.named(hosts: hosts, gpusPerHost: 1, device: "cpu-local", intraHostLink: "nvlink-a100",
                                   interHostLink: "ib-hdr", shape: .fullyConnected)
        })
        let again = Self.session.prepare(task: EvaluationTask(kind: .passkey, contextTokens: 300, depth: 0.5, seed: 4))
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.promptFingerprint == EvaluationSuite.fingerprint(again.split.context + [-1] + again.split.query) })
        #expect(results.allSatisfy { $0.queryTokens == again.split.query.count && $0.contextTokens == again.split.context.count })
    }
}
