import ArgumentParser
import Foundation
import StarSim

/// `starsim eval`: accuracy of global, Star and (on request) Ring attention on RULER-style tasks,
/// executed for real with SmolLM2 on simulated hosts. A thin shell over `EvaluationSuite`.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure accuracy of Star Attention vs global attention on synthetic long-context tasks.",
        discussion: """
            Every (task, context, sample) prompt is run through every method; the table gives the \
            mean RULER score (string_match_all) per task, context and method, Star's accuracy \
            relative to global, and how many answers are identical to global's. Ring is exact: \
            run it with --methods ring to check that it answers as global does.

            Examples:
              starsim eval --quick
              starsim eval --tasks passkey --context 2K,4K --methods global,star,star-noanchor,star-prev
              starsim eval --suite scenarios/eval/paper.yaml --json > paper.json
              starsim eval --report paper.json --markdown
            """)

    @Option(help: "Suite file (scenarios/eval/*.yaml) instead of the task/context/method options.")
    var suite: String?

    @Flag(help: "A small built-in suite (passkey anchor ablation + multi-key at 1K, 2 samples): a few minutes.")
    var quick = false

    @Option(help: ArgumentHelp("Comma-separated tasks.", valueName: "names"))
    var tasks: String?

    @Option(help: ArgumentHelp("Comma-separated nominal context lengths, 1K–8K (default 2K).", valueName: "lengths"))
    var context: String?

    @Option(help: ArgumentHelp("Comma-separated methods (any of global, star, star-noanchor, star-prev, ring, ring-zigzag, ring-striped, ring-passq, ring-zigzag-passq, ulysses, usp, apb, allgather, allgather-zigzag, allgather-striped; default global,star).", valueName: "names"))
    var methods: String?

    @Option(help: ArgumentHelp("Comma-separated host counts for Star and Ring (default 4).", valueName: "counts"))
    var hosts: String?

    @Option(help: ArgumentHelp("Comma-separated Star block sizes in tokens, or auto = context / hosts (default auto).", valueName: "tokens"))
    var block: String?

    @Option(help: ArgumentHelp("Comma-separated Star anchor sizes in tokens, or block = the block size (default block).", valueName: "tokens"))
    var anchor: String?

    @Option(help: ArgumentHelp("Comma-separated passkey depths 0…1, cycled over samples (default: spread evenly, (i+½)/samples).", valueName: "depths"))
    var depth: String?

    @Option(parsing: .unconditional, help: "Samples (prompts with different seeds) per cell (default 3; 1 to 1000).")
    var samples: Int?

    @Option(parsing: .unconditional, help: "Seed of the first sample (sample i uses seed + i) (default 1).")
    var seed: Int?

    @Option(parsing: .unconditional, help: "Max new tokens per answer for every task (default per task: passkey 8, niah-multikey 16, niah-multivalue 40, variable-tracking 32, common-words 48; with --no-answer-prefix 16, 32, 64, 48, 64).")
    var generate: Int?

    @Flag(inversion: .prefixedNo, help: "End the query with the task's answer prefix, as RULER does ('The pass key is'; default), or not (the model answers freely).")
    var answerPrefix: Bool?

    @OptionGroup var output: FormatOptions

    @Flag(help: "Print the table as Markdown (with the default --table format).")
    var markdown = false

    @Option(help: ArgumentHelp("Print the table (or --csv/--markdown) of a report saved with --json instead of running.", valueName: "file"))
    var report: String?

    @Option(help: "GGUF model file (default: $STARSIM_MODEL or the SmolLM2 file in the cache).")
    var model: String?

    static let modelContext = 8192

    /// The suite these options describe, validated.
    func makeSuite() throws -> EvaluationSuite {
        let listOptions: [(String, String?)] = [("--tasks", tasks), ("--context", context), ("--methods", methods),
                                                ("--hosts", hosts), ("--block", block), ("--anchor", anchor)]
        let given = listOptions.filter { $0.1 != nil }.map(\.0)
        if suite != nil && quick { throw StarSimError.invalid("--quick", "cannot be combined with --suite") }
        func split(_ v: String?) -> [String]? { v.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } }
        var s: EvaluationSuite
        if let file = suite {
            if let first = given.first { throw StarSimError.invalid(first, "cannot be combined with --suite (the suite file sets it)") }
            s = try EvaluationSuite.load(file: file, modelContext: Self.modelContext)
        } else if quick {
            if let first = given.first { throw StarSimError.invalid(first, "cannot be combined with --quick") }
            s = EvaluationSuite.quick
        } else {
            var o = EvaluationSuite.Options()
            o.tasks = split(tasks) ?? o.tasks
            o.contexts = split(context) ?? o.contexts
            o.methods = split(methods) ?? o.methods
            o.hosts = split(hosts) ?? o.hosts
            o.blocks = split(block) ?? o.blocks
            o.anchors = split(anchor) ?? o.anchors
            o.samples = samples ?? o.samples
            o.seed = seed ?? o.seed
            o.generate = generate
            o.answerPrefix = answerPrefix ?? o.answerPrefix
            o.depths = split(depth) ?? []
            return try EvaluationSuite.fromOptions(o, modelContext: Self.modelContext)
        }
        // Suite file or --quick: --samples, --seed, --generate and --[no-]answer-prefix still apply.
        if let answerPrefix { s.answerPrefix = answerPrefix }
        if let d = split(depth) { s.depths = try d.map { try EvaluationSuite.parseDepthOption($0) } }
        if let n = samples {
            guard (1...1000).contains(n) else { throw StarSimError.invalid("--samples", "\(n) is out of range; expected 1...1000") }
            s.samples = n
        }
        if let seed {
            guard seed >= 0 else { throw StarSimError.invalid("--seed", "\(seed) is negative; expected 0 or more") }
            s.seed = UInt64(seed)
        }
        if let g = generate {
            guard (1...1024).contains(g) else { throw StarSimError.invalid("--generate", "\(g) is out of range; expected 1...1024") }
            for t in EvaluationTask.Kind.allCases { s.generate[t] = g }
        }
        return s
    }

    func validate() throws {
        if markdown && output.format != .table {
            throw ValidationError("--markdown is a table style; it cannot be combined with --\(output.format.rawValue)")
        }
    }

    func run() throws {
        if let file = report {
            let saved: EvaluationReport
            do {
                saved = try JSONDecoder().decode(
                    EvaluationReport.self, from: InputFile.read(file, limit: 256 << 20, expected: "a saved `starsim eval --json` report"))
            } catch {
                try fail("--report: cannot read \(file) as a saved `starsim eval --json` report: \(error.localizedDescription)")
            }
            // Cells are recomputed from the samples, so a report saved by an older build gets today's summary.
            try emit(EvaluationReport(suite: saved.suite, model: saved.model, samples: saved.samples,
                                  wallSeconds: saved.wallSeconds, results: saved.results))
            return
        }
        let suite: EvaluationSuite
        do { suite = try makeSuite() } catch { try fail("\(error)") }
        let session: ModelSession
        do { session = try ModelSession(path: model) } catch { try fail("\(error)", code: 1) }
        let lines = ProgressOutput()
        func note(_ s: String) { lines.line(s) }
        note("starsim eval: suite '\(suite.name)', \(suite.runCount) runs (\(suite.samples) samples per cell); model loaded in \(String(format: "%.1f", session.loadSeconds)) s")
        let start = DispatchTime.now().uptimeNanoseconds
        let results: [EvaluationResult]
        do {
            results = try suite.run(
                session: session,
                setup: { hosts in
                    try ClusterSetup.named(hosts: hosts, gpusPerHost: 1, device: "cpu-local", intraHostLink: "nvlink-a100",
                                           interHostLink: "ib-hdr", shape: .fullyConnected)
                },
                progress: { note($0.line) })
        } catch {
            try fail("\(error)", code: 1)
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let report = EvaluationReport(
            suite: suite.name, model: URL(fileURLWithPath: model ?? StarSimPaths.defaultModelFile).lastPathComponent,
            samples: suite.samples, wallSeconds: wall, results: results)
        note("starsim eval: done in \(ExecutionProgress.clock(wall))")
        try emit(report)
    }

    /// Prints a report in the chosen format on stdout.
    func emit(_ report: EvaluationReport) throws {
        let wall = report.wallSeconds
        switch output.format {
        case .json:
            do { print(try report.json(), terminator: "") } catch { try fail("\(error)", code: 1) }
        case .csv:
            print(report.csv, terminator: "")
        case .table:
            print("Suite '\(report.suite)', model \(report.model), \(report.samples) samples per cell, \(ExecutionProgress.clock(wall)) wall")
            print(markdown ? report.markdownTable : report.table, terminator: "")
            print("accuracy: mean RULER string_match_all (%); vs global: accuracy / global accuracy of the same cell (n/a when global scored 0);")
            print("same answer: samples whose answer is identical to global's on the same prompt (ring is exact: all).")
        }
    }
}
