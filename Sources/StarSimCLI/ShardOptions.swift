import ArgumentParser
import Foundation
import StarSim

/// `--shard I/N --out DIR`: run one slice of a sweep into a sweep directory (`project`, `plan`);
/// `starsim merge DIR` prints the whole sweep.
struct ShardOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Run shard I of N of the sweep (0-based; balanced by estimated cost), or auto (a Slurm job array) or auto/N (a Kubernetes Indexed Job). Needs --out.",
        valueName: "I/N"))
    var shard: String?
    @Option(help: ArgumentHelp("Sweep directory for --shard: one rows file and one manifest per shard; a re-run resumes. Read by `starsim merge DIR`.",
                               valueName: "dir"))
    var out: String?

    func validate() throws {
        if shard != nil && out == nil { throw ValidationError("--shard needs --out DIR (the sweep directory)") }
        if out != nil && shard == nil { throw ValidationError("--out is the sweep directory of --shard; give --shard I/N too") }
    }

    /// The shard, parsed (from the environment for `auto`); nil when not sharding.
    func spec() throws -> ShardSpec? {
        guard let shard else { return nil }
        do { return try ShardSpec.parse(shard) } catch { try fail("\(error)") }
    }

    /// Runs the shard and prints what it did (stdout: a line, or JSON with `--json`).
    func run(_ configs: [ProjectionConfig], shard: ShardSpec, plan: CapacityPlanner?, serial: Bool, trace: OutputDirectory?,
             format: OutputFormat, force: Bool) throws {
        let directory = OutputDirectory(out!, option: "--out", force: force)
        let progress = ProgressOutput()
        let summary: ShardRun.Summary
        do {
            summary = try ShardRun.run(
                configs, shard: shard, directory: directory, plan: plan, parallel: !serial, traceDirectory: trace,
                progress: { done, total in progress.update("shard \(shard): projecting \(done)/\(total)", done: done, total: total) },
                running: { i, events, time in
                    progress.status("shard \(shard): configuration \(i + 1) of the sweep (\(configs[i].method.rawValue), "
                        + "\(configs[i].effectiveHosts) hosts, \(TokenCount.format(configs[i].contextLength))): "
                        + "\(events / 1000)K events, \(time) simulated")
                })
        } catch {
            progress.finish()
            try fail("\(error)", code: error.isInputError ? 2 : 1)
        }
        progress.finish()
        switch format {
        case .json:
            print("{\"shard\": \(summary.shard.index), \"shards\": \(summary.shard.count), \"sweep_hash\": \"\(summary.sweepHash)\", "
                + "\"rows\": \(summary.rows), \"configurations\": \(summary.configurations), \"resumed\": \(summary.resumed), "
                + "\"ran\": \(summary.ran), \"repaired_bytes\": \(summary.repairedBytes), \"failed\": \(summary.failed), "
                + "\"file\": \(jsonQuoted(summary.rowsFile))}")
        case .table, .csv:
            var line = "shard \(summary.shard) of sweep \(summary.sweepHash): \(summary.rows) of \(summary.configurations) configurations "
                + "in \(summary.rowsFile) (\(summary.ran) projected now, \(summary.resumed) from an earlier run"
            if summary.repairedBytes > 0 { line += ", a torn last line of \(summary.repairedBytes) bytes redone" }
            line += summary.failed > 0 ? "; \(summary.failed) failed)" : ")"
            print(line)
        }
    }
}

/// `s` as a JSON string literal.
func jsonQuoted(_ s: String) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let data = (try? encoder.encode([s])) ?? Data("[\"\"]".utf8)
    return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
}
