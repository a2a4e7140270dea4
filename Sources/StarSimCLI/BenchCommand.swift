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
        @Option(help: "Repetitions (best is kept).") var repetitions = 3
        func run() {
            print(KernelBenchmark.run(repetitions: repetitions))
        }
    }

    struct Model: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "SmolLM2 prefill tokens/s at 1K/4K/8K and decode tokens/s, as a fraction of a same-run sgemm; peak RSS.")
        @Option(help: "Prefill lengths, comma separated.") var lengths = "1024,4096,8192"
        @Option(help: "Decode tokens.") var decodeTokens = 128
        @Option(help: "GGUF model file (default: the cached SmolLM2).") var model: String?
        func run() throws {
            let lengths = self.lengths.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !lengths.isEmpty, lengths.allSatisfy({ $0 > 0 }) else { try fail("--lengths: expected positive integers like 1024,4096") }
            let session: ModelSession
            do { session = try ModelSession(path: model) } catch { try fail("\(error)") }
            print(try ModelBenchmark.run(model: session.model, lengths: lengths, decodeTokens: decodeTokens))
        }
    }

    struct Engine: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scheduler events/s with an actor hop per event (10 and 1,000 hosts), and memory growth.")
        @Option(help: "Events per run.") var events = 2_000_000
        func run() throws {
            for hosts in [10, 1000] {
                print(try EngineBenchmark.run(events: events, hosts: hosts))
            }
        }
    }

    struct Simulation: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wall time of global/Star/Ring runs vs the same math back to back (simulation overhead).")
        @Option(help: "Context lengths, comma separated.") var context = "4096,8000"
        @Option(help: "Hosts for Star and Ring.") var hosts = 4
        func run() throws {
            let lengths = context.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !lengths.isEmpty else { try fail("--context: expected integers like 4096,8000") }
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
