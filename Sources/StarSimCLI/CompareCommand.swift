import ArgumentParser
import Foundation
import StarSim

/// `starsim compare`: communication patterns side by side, projected, with a verdict per row.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare communication patterns (Star, Ring, all-gather CP, tree decoding, …) at each context length, with a verdict per row.",
        discussion: """
            Projects every pattern at every context on one cluster through the same programs, scheduler and \
            cost model as `project`, and prints TTFT, time per output token, bytes per host in prefill and \
            decode, the busiest link, peak memory per host, exact or approximate, and one verdict per row \
            explaining it from the numbers (compute- or link-bound critical path, uneven prefill, memory, the \
            query host's fan-in). A pattern is METHOD[+PHASE2]: star, star+tree, ring-zigzag, allgather+all-gather. \
            Docs/Patterns.md maps engine options (vLLM, SGLang, TensorRT-LLM, Megatron) onto them. Given a \
            scenario instead, its methods run for real (as `run` does) and the same table and verdicts come \
            from the real runs, with whether each answer was right and its tokens equal global attention's; \
            a file with a `compare:` section (the sweep fields plus patterns and cached) projects that comparison.

            Examples:
              starsim compare --model llama-3.1-70b --context 128K,1M --hosts 16 --gpus-per-host 8 --device h100-sxm --inter-link ib-ndr
              starsim compare --model llama-3.1-70b --context 128K --hosts 8 --gpus-per-host 8 --device h100-sxm --patterns ring-zigzag,ulysses,apb
              starsim compare --model llama-3.1-70b --context 128K --hosts 16 --gpus-per-host 8 --device h100-sxm --cached 95%
              starsim compare scenarios/teach/4-compare.yaml
              starsim compare scenarios/patterns/compare-70b-16hosts.yaml
            """)

    @Argument(help: "A scenario to run for real instead of projecting (its methods are the patterns), or a file with a compare: section to project; the projection options are not used.")
    var scenario: String?

    @Option(help: "Model: llama-3.1-8b|llama-3.1-70b|llama-3.1-405b|smollm2-135m, a .gguf file or a config.json.")
    var model: String = "llama-3.1-8b"
    @Option(parsing: .unconditional, help: "Context lengths, comma-separated (K = 1024, M = 1024²; 1 to 16M).")
    var context: String = "128K"
    @Option(parsing: .unconditional, help: "Hosts (1 to 1024).")
    var hosts: Int = 8
    @Option(name: .customLong("gpus-per-host"), parsing: .unconditional, help: "GPUs per host (1 to 128).")
    var gpusPerHost: Int = 1
    @OptionGroup var hardware: HardwareOptions
    @Option(help: "Patterns, comma-separated METHOD[+PHASE2] (default \(PatternComparison.defaultPatterns)).")
    var patterns: String = PatternComparison.defaultPatterns
    @Option(parsing: .unconditional, help: "Tokens sampled in total (the first comes from the query; 1 to 32768).")
    var generate: Int = 16
    @Option(parsing: .unconditional, help: "Query tokens encoded after the context (1 to 1M).")
    var query: Int = 64
    @Option(help: "A persistent-KV prefill: this much of each context is in the hosts' KV cache from an earlier turn (tokens such as 120K, or a share such as 90%); ring patterns only (default patterns then \(PatternComparison.defaultCachedPatterns)).")
    var cached: String?
    @Option(help: "Write the chart \(PatternComparison.chartName) (TTFT vs context per pattern; for a scenario with several cluster sizes \(PatternComparison.hostsChartName), TTFT vs hosts) into this directory.")
    var plots: String?
    @Option(help: "Write one self-contained HTML report (the table with verdicts, and per row its lanes, messages and memory).")
    var html: String?
    @Flag(help: "Replace existing output files even when StarSim did not write them.")
    var force = false
    @OptionGroup var format: FormatOptions

    func run() throws {
        if let scenario {
            // A file with a `compare:` section describes a projected comparison; any other scenario runs for real.
            let section: PatternComparison.Section?
            do { section = try PatternComparison.Section.load(file: scenario) } catch { try fail("\(error)") }
            if let section { return try project(section.sweep, patterns: section.patterns) }
            return try runScenario(scenario)
        }
        let base: ProjectionSweep, patterns: [PatternComparison.Pattern]
        do {
            let cachedPrefix = try cached.map { try CachedPrefix.parse($0) }
            let named = self.patterns != PatternComparison.defaultPatterns
            patterns = try PatternComparison.Pattern.parseList(
                cachedPrefix != nil && !named ? PatternComparison.defaultCachedPatterns : self.patterns)
            if cachedPrefix != nil, let why = patterns.lazy.compactMap({ CachedPrefix.unsupported(by: $0.method) }).first {
                throw StarSimError.invalid("--patterns", "\(why): with --cached every pattern must be a ring")
            }
            var sweep = ProjectionSweep(models: [try CapacityModels.resolve(model)], contexts: try TokenCount.parseList(context, field: "--context"))
            sweep.hosts = [hosts]
            sweep.gpusPerHost = [gpusPerHost]
            try hardware.apply(to: &sweep)
            sweep.methods = PatternComparison.uniquedMethods(patterns)
            sweep.generate = generate
            sweep.queryLength = query
            sweep.cached = cachedPrefix
            base = sweep
        } catch {
            try fail("\(error)")
        }
        try project(base, patterns: patterns)
    }

    /// Projects `patterns` over `base`'s contexts and cluster, then prints the table, verdicts and outputs.
    func project(_ base: ProjectionSweep, patterns: [PatternComparison.Pattern]) throws {
        let comparison: PatternComparison
        let plotDirectory = plots.map { OutputDirectory($0, option: "--plots", force: force) }
        let report = html.map { HTMLReportFile(path: $0, force: force) }
        do {
            try base.validate(sharded: false)
            try base.checkWork()
            try plotDirectory?.check(names: [PatternComparison.chartName])
            try report?.check(drawing: PatternComparison.configurations(base: base, patterns: patterns).count)
            let progress = ProgressOutput()
            comparison = PatternComparison(base: base, patterns: patterns, progress: { done, total in
                progress.update("projecting \(done)/\(total)", done: done, total: total)
            })
        } catch {
            try fail("\(error)")
        }
        do {
            if let plotDirectory { note("wrote " + (try plotDirectory.write(comparison.chart(), name: comparison.chartFileName))) }
            if let report {
                note("wrote " + (try report.write(HTMLReport(projections: comparison.rows.map(\.result),
                                                             title: "StarSim — compare", summary: comparison.table()))))
            }
        } catch {
            try fail("\(error)", code: 1)
        }
        switch format.format {
        case .table: print(comparison.text(), terminator: "")
        case .csv: print(comparison.csv(), terminator: "")
        case .json: print(comparison.json(), terminator: "")
        }
        if comparison.rows.contains(where: { if case .failed = $0.result.status { true } else { false } }) { throw ExitCode(1) }
    }

    /// `compare SCENARIO`: the scenario's methods for real, then the comparison of the runs.
    func runScenario(_ file: String) throws {
        if cached != nil { try fail("--cached: a scenario sets its cached prefix per ring method (`cached:` in its options)") }
        let plotDirectory = plots.map { OutputDirectory($0, option: "--plots", force: force) }
        // Both names the chart may take are checked before anything runs.
        do { try plotDirectory?.check(names: [PatternComparison.chartName, PatternComparison.hostsChartName]) } catch { try fail("\(error)") }
        let (result, report) = try ScenarioCommandRun(file: file, html: html, force: force).execute()
        let comparison = PatternComparison(run: result)
        if let plotDirectory {
            do { note("wrote " + (try plotDirectory.write(comparison.chart(), name: comparison.chartFileName))) } catch { try fail("\(error)", code: 1) }
        }
        if let report {
            var page = HTMLReport(run: result)
            page.summary = comparison.table()
            do { note("wrote " + (try report.write(page))) } catch { try fail("\(error)", code: 1) }
        }
        switch format.format {
        case .table: print(comparison.text(), terminator: "")
        case .csv: print(comparison.csv(), terminator: "")
        case .json: print(comparison.json(), terminator: "")
        }
    }
}
