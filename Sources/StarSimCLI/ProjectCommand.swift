import ArgumentParser
import Foundation
import Benchmarks
import StarSim

/// `starsim project`: projected time, traffic and memory over a sweep of models, contexts, clusters
/// and methods (the same per-host programs and scheduler as a real run, with modeled costs).
struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Project TTFT, TPOT, bytes and memory of global/star/ring over a sweep.",
        discussion: """
            Either options or a sweep file (scenarios/projections/*.yaml, same fields). Star's block \
            defaults to min(⌈L/hosts⌉, 32K) with anchor = block: L/4 on 4 hosts up to 128K, fixed 32K \
            beyond (the paper's setup). Global always runs on one host (with --gpus-per-host GPUs). \
            Configurations that do not fit in memory are reported as OOM with the bytes involved. \
            Examples:
              starsim project --model llama-3.1-8b --context 16K,32K,64K,128K --hosts 4 --gpus-per-host 2
              starsim project scenarios/projections/llama8b-a100.yaml --csv
            A sweep too big for one machine runs as shards (each on its own machine, resumable), then merges:
              starsim project SWEEP.yaml --shard 0/4 --out runs/sweep1   (… --shard 3/4)
              starsim merge runs/sweep1
            """)

    @Argument(help: "Optional sweep file (YAML); when given, its fields replace the sweep options (output options still apply).")
    var sweepFile: String?

    @Option(help: "Model: llama-3.1-8b|llama-3.1-70b|llama-3.1-405b|smollm2-135m, a .gguf file or a config.json.")
    var model: String = "llama-3.1-8b"
    @Option(parsing: .unconditional, help: "Context lengths, comma-separated (K = 1024, M = 1024²; 1 to 16M).")
    var context: String = "16K,32K,64K,128K"
    @Option(parsing: .unconditional, help: "Host counts, comma-separated (star and ring; 1 to 1024).")
    var hosts: String = "4"
    @Option(name: .customLong("gpus-per-host"), parsing: .unconditional, help: "GPUs per host, comma-separated (1 to 128).")
    var gpusPerHost: String = "2"
    @OptionGroup var hardware: HardwareOptions
    @Option(help: "Methods, comma-separated: global, star, star-noanchor, star-prev, ring, ring-zigzag, ring-striped, ring-passq, ring-zigzag-passq, ulysses, usp, apb, allgather, allgather-zigzag, allgather-striped.")
    var methods: String = "global,star,ring"
    @Option(parsing: .unconditional, help: "Star block size (default min(⌈L/hosts⌉, 32K)).")
    var block: String?
    @Option(parsing: .unconditional, help: "Star anchor size (default = block; 0 = no anchor).")
    var anchor: String?
    @Option(parsing: .unconditional, help: "Tokens sampled in total (the first comes from the query; 1 to 32768).")
    var generate: Int = 1
    @Option(parsing: .unconditional, help: "Query tokens encoded after the context (1 to 1M).")
    var query: Int = 64
    @Option(help: "A persistent-KV prefill: this much of each context is in the hosts' KV cache from an earlier turn (tokens such as 120K, or a share such as 90%); ring methods only.")
    var cached: String?
    @Option(help: "Phase-2 merge of Star and Ring decoding: gather-broadcast | all-gather | tree.")
    var phase2: String = "gather-broadcast"
    @Option(help: "Event granularity: per-layer | coarse.")
    var granularity: String = "per-layer"
    @Option(help: "Write one Chrome trace per configuration into this directory.")
    var trace: String?
    @Option(help: "Write one self-contained HTML report (the table, and per configuration its lanes, messages, critical path and memory; at most 32 configurations).")
    var html: String?
    @Option(help: "Faults file (YAML with a faults: section, Docs/Faults.md): each configuration is also projected with them (and over random trials with faults.random).")
    var faults: String?
    @OptionGroup var output: OutputOptions
    @OptionGroup var sharding: ShardOptions
    @Flag(name: .customLong("calibrated-only"),
          help: "Refuse (exit 2, naming each) configurations whose device was not calibrated or whose shapes lie outside its calibrated range (Docs/Accuracy.md).")
    var calibratedOnly = false
    @Flag(help: "Run serially (default: independent configurations on all cores).")
    var serial = false
    @Flag(help: "Print the projection benchmark timings (70B at 1M on 16 hosts; a 200-configuration sweep) and exit.")
    var benchmark = false

    func run() throws {
        if benchmark {
            for line in CapacityBenchmark.run() { print(line) }
            return
        }
        let sweep: ProjectionSweep
        let shard = try sharding.spec()
        do {
            var s = try sweepFile.map { f throws(StarSimError) in try ProjectionSweep.load(file: f) } ?? buildSweep()
            if let faults {
                do {
                    (s.faults, s.randomFaults) = try FaultSection.load(file: faults)
                } catch {
                    throw StarSimError.failed("--faults: \(error)")
                }
            }
            sweep = s
            try sweep.validate(sharded: shard != nil)
        } catch {
            try fail("\(error)")
        }
        let configs = sweep.configs()
        let report = html.map { HTMLReportFile(path: $0, force: output.force, inputs: [sweepFile, faults].compactMap { $0 }) }
        let traces = trace.map { OutputDirectory($0, option: "--trace", force: output.force) }
        if let shard {
            if calibratedOnly { try fail("--calibrated-only: check the merged rows' coverage column instead (a shard writes rows)") }
            if html != nil { try fail("--html: a shard writes rows; project the configurations you want to see without --shard") }
            if output.plots != nil { try fail("--plots: a shard writes rows; draw the charts with `starsim merge \(sharding.out!) --plots DIR`") }
            try sharding.run(configs, shard: shard, plan: nil, serial: serial, trace: traces, format: output.format, force: output.force)
            return
        }
        do {
            try sweep.checkWork()
            try traces?.check(names: configs.indices.map { CapacityProjection.traceName(configs[$0], index: $0) })
            try output.plotDirectory?.check(names: CapacityPlots.fileNames)
            try report?.check(drawing: configs.count)
        } catch {
            try fail("\(error)")
        }
        let progress = ProgressOutput()
        let results = CapacityProjection.sweep(
            configs, parallel: !serial, traceDirectory: traces, timelines: report != nil,
            progress: { done, total in progress.update("projecting \(done)/\(total)", done: done, total: total) },
            running: { i, events, time in
                progress.status("projecting configuration \(i + 1)/\(configs.count) (\(configs[i].method.rawValue), "
                    + "\(configs[i].effectiveHosts) hosts, \(TokenCount.format(configs[i].contextLength))): "
                    + "\(events / 1000)K events, \(time) simulated")
            })
        // A fault that happened in no configuration's run is bad input (it starts after every end).
        let faulted = results.compactMap(\.faulted).filter { $0.error == nil }
        if !faulted.isEmpty {
            let perRun = faulted.map { Set($0.notHappened.map { $0.components(separatedBy: ":")[0] }) }
            let lateEverywhere = perRun.dropFirst().reduce(perRun[0]) { $0.intersection($1) }
            if let field = lateEverywhere.sorted().first {
                let example = faulted.flatMap(\.notHappened).first { $0.hasPrefix(field + ":") } ?? field
                try fail("--faults: \(example) — in every configuration; a fault must start within the run")
            }
        }
        if calibratedOnly {
            let outside = results.enumerated().compactMap { i, r -> String? in
                guard let c = r.coverage, c.status != .calibrated else { return nil }
                return "  [\(i)] \(r.config.model.name) \(r.config.method.rawValue) \(TokenCount.format(r.config.contextLength)) "
                    + "on \(r.config.effectiveHosts)x\(r.config.gpusPerHost) \(r.config.device): \(c)"
            }
            if !outside.isEmpty {
                try fail("--calibrated-only: \(outside.count) of \(results.count) configurations are not covered by a calibration:\n"
                    + outside.joined(separator: "\n"))
            }
        }
        if let report {
            do { note("wrote " + (try report.write(HTMLReport(projections: results)))) } catch { try fail("\(error)", code: 1) }
        }
        try output.emit(results)
    }

    func buildSweep() throws(StarSimError) -> ProjectionSweep {
        func ints(_ text: String, _ field: String) throws(StarSimError) -> [Int] {
            var out: [Int] = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let n = Int(part.trimmingCharacters(in: .whitespaces)) else {
                    throw .invalidValue(field, String(part), "a comma-separated list of integers")
                }
                out.append(n)
            }
            return out
        }
        var s = ProjectionSweep(
            models: try model.split(separator: ",").map { m throws(StarSimError) in try CapacityModels.resolve(String(m)) },
            contexts: try TokenCount.parseList(context, field: "--context"))
        s.hosts = try ints(hosts, "--hosts")
        s.gpusPerHost = try ints(gpusPerHost, "--gpus-per-host")
        try hardware.apply(to: &s)
        s.methods = try methods.split(separator: ",").map { m throws(StarSimError) in try MethodKind.parse(String(m), field: "--methods") }
        s.block = try block.map { b throws(StarSimError) in try TokenCount.parse(b, field: "--block") }
        if let anchor { s.anchor = anchor == "0" ? 0 : try TokenCount.parse(anchor, field: "--anchor") }
        s.generate = generate
        s.queryLength = query
        s.cached = try cached.map { c throws(StarSimError) in try CachedPrefix.parse(c) }
        guard let pattern = Phase2Pattern(rawValue: phase2) else {
            throw .invalidValue("--phase2", phase2, "one of " + Phase2Pattern.allCases.map(\.rawValue).joined(separator: ", "))
        }
        s.phase2 = pattern
        switch granularity {
        case "per-layer": s.granularity = .perLayer
        case "coarse": s.granularity = .coarse
        default: throw .invalidValue("--granularity", granularity, "per-layer or coarse")
        }
        return s
    }
}
