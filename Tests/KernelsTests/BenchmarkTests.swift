import Foundation
import Kernels
import Testing

/// Benchmarks, run only on request: `KERNELS_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing
/// --filter KernelsTests.BenchmarkTests`. `KERNELS_BENCHMARK_TOKENS=1024,4096` and
/// `KERNELS_BENCHMARK_TILES=64x256,32x512` choose sizes; results are printed.
@Suite("Kernel benchmarks (KERNELS_BENCHMARK=1)", .enabled(if: ProcessInfo.processInfo.environment["KERNELS_BENCHMARK"] == "1"))
struct BenchmarkTests {
    private var env: [String: String] { ProcessInfo.processInfo.environment }

    @Test("sgemm vs causal flash attention")
    func benchmark() {
        let tokens = (env["KERNELS_BENCHMARK_TOKENS"] ?? "1024,4096,8192").split(separator: ",").compactMap { Int($0) }
        let tiles = (env["KERNELS_BENCHMARK_TILES"] ?? "").split(separator: ",").compactMap { spec -> (Int, Int)? in
            let p = spec.split(separator: "x").compactMap { Int($0) }
            return p.count == 2 ? (p[0], p[1]) : nil
        }
        let workers = (env["KERNELS_BENCHMARK_WORKERS"] ?? "").split(separator: ",").compactMap { Int($0) }
        let reps = Int(env["KERNELS_BENCHMARK_REPS"] ?? "") ?? 3
        var configs: [FlashAttention.Configuration] = []
        let base = FlashAttention.Configuration.default
        for t in tiles.isEmpty ? [(base.queryTile, base.keyTile)] : tiles {
            for w in workers.isEmpty ? [base.workers] : workers {
                configs.append(FlashAttention.Configuration(queryTile: t.0, keyTile: t.1, workers: w))
            }
        }
        for c in configs {
            let result = KernelBenchmark.run(attentionTokens: tokens, configuration: c, repetitions: reps)
            print(result)
            #expect(result.attention.allSatisfy { $0.seconds > 0 && $0.seconds.isFinite })
        }
    }
}
