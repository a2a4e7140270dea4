import ArgumentParser
import Foundation
import Benchmarks
import StarSim

extension Bench {
    /// `starsim bench peer`: llama.cpp (through PyPI's `llama-cpp-python`, compiled from source on
    /// this machine) and StarSim on the same GGUF, the same thread count and the same prompt lengths,
    /// interleaved round by round (llama.cpp Q4_1, F16, F32, then StarSim; again), with ratios.
    struct Peer: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prefill and decode tokens/s of llama.cpp (Q4_1, F16, F32) and StarSim, interleaved in one run.",
            discussion: """
                Installs llama-cpp-python into $STARSIM_CACHE/peer/venv on first use (scripts/install-peer.sh, \
                a 10–20 minute compile, once), makes F16 and F32 copies of the model with llama.cpp's own \
                quantizer, then times every engine in rounds: llama.cpp Q4_1, F16, F32, StarSim, and again. \
                StarSim runs its fastest exact path: f32 prefill with exact attention, quantized decode. \
                Run it from the StarSim checkout (it needs scripts/install-peer.sh and tools/peer/).
                """)

        @Option(help: "Prefill lengths, comma separated.") var lengths = "512,1024,2048,4096,8192"
        @Option(parsing: .unconditional, help: "Decode tokens (after a 16-token prompt).") var decodeTokens = 128
        @Option(parsing: .unconditional, help: "Threads for both engines (default: StarSim's worker count: STARSIM_WORKERS, else the active CPUs).") var threads: Int?
        @Option(parsing: .unconditional, help: "Rounds (each runs every engine once; ranges are over rounds).") var rounds = 2
        @Option(parsing: .unconditional, help: "llama.cpp timed runs per measurement, best kept (StarSim times each prefill once per round).") var reps = 2
        @Option(help: "llama.cpp variants, comma separated.") var variants = "q4_1,f16,f32"
        @Option(help: "GGUF model file (default: the cached SmolLM2).") var model: String?
        @Flag(help: "Print the measurements as JSON instead of a table.") var json = false

        func run() throws {
            let lengths = try parseLengths(self.lengths)
            guard rounds >= 1, rounds <= 20 else { try fail("--rounds: expected 1…20, got \(rounds)") }
            guard reps >= 1, reps <= 20 else { try fail("--reps: expected 1…20, got \(reps)") }
            guard decodeTokens >= 1, decodeTokens <= 4096 else { try fail("--decode-tokens: expected 1…4096, got \(decodeTokens)") }
            let threads = self.threads ?? BLAS.defaultWorkers
            guard threads >= 1, threads <= 256 else { try fail("--threads: expected 1…256, got \(threads)") }
            let variants = self.variants.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard !variants.isEmpty, variants.allSatisfy({ ["q4_1", "f16", "f32"].contains($0) }) else {
                try fail("--variants: expected a list of q4_1, f16, f32, got '\(self.variants)'")
            }
            let modelPath = model ?? StarSimPaths.defaultModelFile
            guard FileManager.default.fileExists(atPath: modelPath) else {
                try fail("model file \(modelPath) not found (scripts/install.sh downloads the default one)")
            }
            guard let root = Self.checkoutRoot() else {
                try fail("bench peer needs the StarSim checkout (scripts/install-peer.sh and tools/peer/llama_bench.py); run it from there")
            }
            note("bench peer: installing or checking llama-cpp-python (first time: a 10–20 minute compile)")
            let python = try Self.runChecked([root + "/scripts/install-peer.sh"], what: "scripts/install-peer.sh")
                .split(separator: "\n").last.map(String.init) ?? ""
            guard FileManager.default.isExecutableFile(atPath: python) else {
                try fail("scripts/install-peer.sh did not print the venv's python (got '\(python)')", code: 1)
            }
            guard threads == BLAS.defaultWorkers else {
                try fail("--threads \(threads): StarSim's kernels use \(BLAS.defaultWorkers) workers in this process; set STARSIM_WORKERS=\(threads) instead of --threads")
            }
            let session: ModelSession
            do { session = try ModelSession(path: modelPath) } catch { try fail("\(error)") }
            let workDir = StarSimPaths.cacheDirectory + "/peer/models"

            var rows: [PeerRow] = []
            var info = ""
            for round in 1...rounds {
                for variant in variants {
                    note("bench peer: round \(round)/\(rounds): llama.cpp \(variant)")
                    let out = try Self.runChecked(
                        [python, root + "/tools/peer/llama_bench.py", "--model", modelPath, "--variant", variant,
                         "--threads", String(threads), "--prefill", lengths.map(String.init).joined(separator: ","),
                         "--decode", String(decodeTokens), "--work-dir", workDir, "--reps", String(reps)],
                        what: "llama.cpp (\(variant))")
                    for line in out.split(separator: "\n") {
                        guard let data = line.data(using: .utf8),
                              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                              let kind = object["kind"] as? String else { continue }
                        if kind == "info" { info = (object["system_info"] as? String) ?? info; continue }
                        guard let tokens = object["tokens"] as? Int, let rate = object["tokens_per_second"] as? Double else { continue }
                        rows.append(PeerRow(engine: "llama.cpp " + variant.uppercased(), round: round,
                                            kind: kind, tokens: tokens, tokensPerSecond: rate))
                    }
                }
                note("bench peer: round \(round)/\(rounds): StarSim")
                let report = try ModelBenchmark.run(model: session.model, lengths: lengths, decodeTokens: decodeTokens)
                for p in report.prefills {
                    rows.append(PeerRow(engine: "StarSim", round: round, kind: "prefill", tokens: p.tokens,
                                        tokensPerSecond: p.tokensPerSecond, fractionOfSGEMM: p.fractionOfSGEMM,
                                        attentionShare: p.attentionSeconds / p.seconds))
                }
                if let d = report.decode {
                    rows.append(PeerRow(engine: "StarSim", round: round, kind: "decode", tokens: d.tokens,
                                        tokensPerSecond: d.quantizedTokensPerSecond ?? d.f32TokensPerSecond))
                }
            }
            let table = PeerTable(cpu: Self.cpuModel(), threads: threads, blas: BLAS.configuration, llamaCpp: info,
                                  lengths: lengths, decodeTokens: decodeTokens, rows: rows)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(table), as: UTF8.self))
            } else {
                print(table.markdown)
            }
        }

        private func parseLengths(_ text: String) throws -> [Int] {
            let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let values = parts.compactMap { Int($0) }
            guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ (16...32_768).contains($0) }) else {
                try fail("--lengths: expected integers in 16…32768 separated by commas, like 512,4096; got '\(text)'")
            }
            return values
        }

        /// The checkout holding `tools/peer/llama_bench.py`: the current directory or one above it,
        /// else the directory above `.build` where this binary lives.
        static func checkoutRoot() -> String? {
            var candidates: [URL] = []
            var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            for _ in 0..<4 { candidates.append(dir); dir.deleteLastPathComponent() }
            var exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            for _ in 0..<4 { exe.deleteLastPathComponent(); candidates.append(exe) }
            return candidates.first {
                FileManager.default.fileExists(atPath: $0.appendingPathComponent("tools/peer/llama_bench.py").path)
            }?.path
        }

        /// Runs `arguments`, passes its stderr through, returns its stdout; a non-zero exit is an error.
        static func runChecked(_ arguments: [String], what: String) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.standardError
            do { try process.run() } catch { try fail("cannot start \(what) (\(arguments[0])): \(error.localizedDescription)", code: 1) }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { try fail("\(what) failed with exit status \(process.terminationStatus)", code: 1) }
            return String(decoding: data, as: UTF8.self)
        }

        static func cpuModel() -> String {
            guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown CPU" }
            let line = text.split(separator: "\n").first { $0.hasPrefix("model name") }
            return line.flatMap { $0.split(separator: ":", maxSplits: 1).last }.map { $0.trimmingCharacters(in: .whitespaces) }
                ?? "unknown CPU"
        }
    }
}

/// One measurement of `bench peer`: an engine's prefill of `tokens` tokens, or its decode of `tokens` tokens.
struct PeerRow: Codable {
    var engine: String
    var round: Int
    var kind: String
    var tokens: Int
    var tokensPerSecond: Double
    /// StarSim prefill only: achieved GFLOP/s over the same-run bare `parallelSgemm`.
    var fractionOfSGEMM: Double?
    /// StarSim prefill only: share of the prefill's wall time spent in attention.
    var attentionShare: Double?
}

/// Everything `bench peer` measured, and its table.
struct PeerTable: Codable {
    var cpu: String
    var threads: Int
    var blas: String
    var llamaCpp: String
    var lengths: [Int]
    var decodeTokens: Int
    var rows: [PeerRow]

    private var columns: [(kind: String, tokens: Int, label: String)] {
        lengths.map { ("prefill", $0, $0 >= 1024 && $0 % 1024 == 0 ? "\($0 / 1024)K" : "\($0)") }
            + [("decode", decodeTokens, "decode tg\(decodeTokens)")]
    }

    private func rates(_ engine: String, _ kind: String, _ tokens: Int) -> [Double] {
        rows.filter { $0.engine == engine && $0.kind == kind && $0.tokens == tokens }.map(\.tokensPerSecond)
    }

    private static func range(_ v: [Double]) -> String {
        guard let lo = v.min(), let hi = v.max() else { return "–" }
        return Int(lo.rounded()) == Int(hi.rounded()) ? "\(Int(lo.rounded()))" : "\(Int(lo.rounded()))–\(Int(hi.rounded()))"
    }

    var markdown: String {
        let engines = rows.map(\.engine).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let peers = engines.filter { $0 != "StarSim" }
        var s = "CPU: \(cpu); threads: \(threads)\nStarSim BLAS: \(blas)\nllama.cpp: \(llamaCpp)\n\n"
        s += "| tokens/s (\(threads) threads) | " + columns.map(\.label).joined(separator: " | ") + " |\n"
        s += "|---|" + String(repeating: "---|", count: columns.count) + "\n"
        for e in engines {
            s += "| \(e) | " + columns.map { Self.range(rates(e, $0.kind, $0.tokens)) }.joined(separator: " | ") + " |\n"
        }
        // StarSim ÷ the fastest peer, per round (same round: same machine load), as a range.
        s += "| StarSim ÷ llama.cpp's best | " + columns.map { c in
            let rounds = Set(rows.map(\.round)).sorted()
            let ratios = rounds.compactMap { r -> Double? in
                let mine = rows.first { $0.engine == "StarSim" && $0.kind == c.kind && $0.tokens == c.tokens && $0.round == r }
                let best = rows.filter { $0.engine != "StarSim" && $0.kind == c.kind && $0.tokens == c.tokens && $0.round == r }
                    .map(\.tokensPerSecond).max()
                guard let mine, let best, best > 0 else { return nil }
                return mine.tokensPerSecond / best
            }
            guard let lo = ratios.min(), let hi = ratios.max() else { return "–" }
            return lo == hi || String(format: "%.2f", lo) == String(format: "%.2f", hi)
                ? String(format: "%.2f", lo) : String(format: "%.2f–%.2f", lo, hi)
        }.joined(separator: " | ") + " |\n"
        let fractions = columns.filter { $0.kind == "prefill" }.map { c -> String in
            let v = rows.filter { $0.engine == "StarSim" && $0.kind == "prefill" && $0.tokens == c.tokens }.compactMap(\.fractionOfSGEMM)
            let a = rows.filter { $0.engine == "StarSim" && $0.kind == "prefill" && $0.tokens == c.tokens }.compactMap(\.attentionShare)
            guard let lo = v.min(), let hi = v.max(), let share = a.max() else { return "\(c.label): –" }
            return "\(c.label): \(String(format: "%.2f–%.2f", lo, hi)) of sgemm, attention \(Int((100 * share).rounded()))% of the time"
        }
        s += "\nStarSim prefill vs its same-run bare parallelSgemm: " + fractions.joined(separator: "; ") + "\n"
        if peers.isEmpty { s += "(no llama.cpp variant measured)\n" }
        return s
    }
}
