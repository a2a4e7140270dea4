import ArgumentParser
import Foundation
import Benchmarks
import StarSim

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed and memory (results for BENCHMARKS.md).",
        discussion: "Every figure is reported next to a baseline measured in the same run (a bare sgemm, the math without the cluster).",
        subcommands: [Kernels.self, Model.self, Engine.self, Simulation.self, Peer.self])

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bare sgemm vs tiled flash attention (causal 1K/4K/8K, decode).")
        @Option(parsing: .unconditional, help: "Repetitions (best is kept; 1 to 100).") var repetitions = 3
        func run() throws {
            _ = try checked(repetitions, "--repetitions", 1...100)
            print(KernelBenchmark.run(repetitions: repetitions))
        }
    }

    struct Model: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SmolLM2 prefill tokens/s at 1K/4K/8K and decode tokens/s, as a fraction of a same-run sgemm; peak RSS.")
        @Option(help: "Prefill lengths, comma separated.") var lengths = "1024,4096,8192"
        @Option(parsing: .unconditional, help: "Decode tokens (1 to 8192).") var decodeTokens = 128
        @Option(help: "GGUF model file (default: the cached SmolLM2).") var model: String?
        func run() throws {
            _ = try checked(decodeTokens, "--decode-tokens", InputLimits.realRunGeneratedTokens)
            let parts = self.lengths.split(separator: ",", omittingEmptySubsequences: false)
            let lengths = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !lengths.isEmpty, lengths.count == parts.count, lengths.allSatisfy({ (1...8192).contains($0) }) else {
                try fail("--lengths: expected integers in 1...8192 like 1024,4096, got '\(self.lengths)'")
            }
            let session: ModelSession
            do { session = try ModelSession(path: model) } catch { try fail("\(error)") }
            print(try ModelBenchmark.run(model: session.model, lengths: lengths, decodeTokens: decodeTokens))
        }
    }

    struct Engine: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scheduler events/s with an actor hop per event (10 and 1,000 hosts), and memory growth.")
        @Option(parsing: .unconditional, help: "Events per run (1000 to 100,000,000).") var events = 2_000_000
        func run() throws {
            _ = try checked(events, "--events", 1000...100_000_000)
            for hosts in [10, 1000] {
                print(try EngineBenchmark.run(events: events, hosts: hosts))
            }
        }
    }

    struct Simulation: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wall time of global/Star/Ring runs vs the same math back to back (simulation overhead).")
        @Option(help: "Context lengths, comma separated.") var context = "4096,8000"
        @Option(parsing: .unconditional, help: "Hosts for Star and Ring (1 to 64).") var hosts = 4
        func run() throws {
            _ = try checked(hosts, "--hosts", InputLimits.realRunHosts)
            let parts = context.split(separator: ",", omittingEmptySubsequences: false)
            let lengths = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !lengths.isEmpty, lengths.count == parts.count, lengths.allSatisfy({ (64...8192).contains($0) }) else {
                try fail("--context: expected integers in 64...8192 like 4096,8000, got '\(context)'")
            }
            let session: ModelSession
            do { session = try ModelSession(path: nil) } catch { try fail("\(error)") }
            let rows = try SimulationBenchmark.run(session: session, contextTokens: lengths, hosts: hosts) {
                FileHandle.standardError.write(Data(($0 + "\n").utf8))
            }
            print("method  context  wall-s   math-s   overhead  simulated-s")
            for r in rows {
                let method = r.method.padding(toLength: 7, withPad: " ", startingAt: 0)
                let overhead = String(format: "%+.1f%%", 100 * r.overhead).padding(toLength: 9, withPad: " ", startingAt: 0)
                print(method + " " + String(format: "%-8d %-8.2f %-8.2f ", r.contextTokens, r.wallSeconds, r.mathSeconds)
                      + overhead + " " + String(format: "%.3f", r.simulatedSeconds))
            }
        }
    }
}
