import Cluster
import ClusterExecution
import DistributedAttention
import Foundation
import Kernels
import Llama
import Projection
import StarSim

/// What the simulation layer costs on top of the real math: each method runs with *measured*
/// timing, so every compute step's simulated duration is the wall time of its math; the sum of
/// those over all hosts is the math run back to back, and the run's wall time minus that sum is
/// what the scheduler, actors, links and bookkeeping added.
public enum SimulationBenchmark {
    public struct Row: Sendable {
        public var method: String
        public var contextTokens: Int
        public var wallSeconds: Double
        /// Σ over hosts of the wall time spent in the ops' math.
        public var mathSeconds: Double
        /// Simulated finish time of the run (measured timing).
        public var simulatedSeconds: Double
        /// (wall − math) / math.
        public var overhead: Double { (wallSeconds - mathSeconds) / mathSeconds }
    }

    /// Runs a passkey prompt of about `contextTokens` tokens with each method over `hosts` hosts.
    public static func run(session: ModelSession, contextTokens: [Int], hosts: Int, generate: Int = 4,
                           progress: (String) -> Void = { _ in }) throws -> [Row] {
        var rows: [Row] = []
        for n in contextTokens {
            let prompt = session.prepare(task: EvaluationTask(kind: .passkey, contextTokens: n, seed: 1))
            let L = prompt.split.context.count, q = prompt.split.query.count
            let methods: [(String, AttentionMethod)] = try [MethodKind.global, .star, .ring].map { kind in
                (kind.rawValue, try MethodSpec(kind: kind).plan(contextLength: L, queryLength: q, hosts: kind == .global ? 1 : hosts))
            }
            for (name, method) in methods {
                progress("\(name) at \(L) context tokens on \(method.hosts) host(s)")
                var setup = try ClusterSetup.named(
                    hosts: method.hosts, gpusPerHost: 1, device: "cpu-local", intraHostLink: "nvlink-a100",
                    interHostLink: "ib-hdr", shape: .fullyConnected)
                setup.timing = .measured
                let o = try session.execute(method, name: name, prompt: prompt.split, setup: setup, maxNewTokens: generate)
                let math = o.report.hosts.reduce(0.0) { $0 + $1.counters.busy.seconds }
                rows.append(Row(method: name, contextTokens: L, wallSeconds: o.wallSeconds, mathSeconds: math,
                                simulatedSeconds: o.report.finish.seconds))
            }
        }
        return rows
    }
}
