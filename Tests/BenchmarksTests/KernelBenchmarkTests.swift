import Foundation
import Benchmarks
import Kernels
import Testing

/// Benchmarks, run only on request: `KERNELS_BENCHMARK=1 swift test -c release -Xswiftc -enable-testing
/// --filter KernelBenchmarkTests`. `KERNELS_BENCHMARK_TOKENS=1024,4096` and
/// `KERNELS_BENCHMARK_TILES=64x256,32x512` choose sizes; results are printed.
@Suite("Kernel benchmarks (KERNELS_BENCHMARK=1)", .enabled(if: ProcessInfo.processInfo.environment["KERNELS_BENCHMARK"] == "1"))
struct KernelBenchmarkTests {
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

/// Tile sweep on one thread, timed by calling-thread CPU time (robust on a shared, overloaded
/// machine): `KERNELS_SWEEP=1 … --filter KernelsTests.TileSweep`, sizes via `KERNELS_SWEEP_TOKENS`
/// and `KERNELS_SWEEP_TILES=64x256,…`.
@Suite("Tile sweep (KERNELS_SWEEP=1)", .enabled(if: ProcessInfo.processInfo.environment["KERNELS_SWEEP"] == "1"))
struct TileSweep {
    @Test("single-thread attention and sgemm by thread CPU time")
    func sweep() {
        let env = ProcessInfo.processInfo.environment
        let n = Int(env["KERNELS_SWEEP_TOKENS"] ?? "") ?? 2048
        let tiles = (env["KERNELS_SWEEP_TILES"] ?? "64x256,128x256,256x256,384x256,256x512")
            .split(separator: ",").map { $0.split(separator: "x").map { Int($0)! } }
        let g = AttentionGeometry(heads: 9, kvHeads: 3, headDim: 64)
        let flops = 4 * 64 * 9 * Double(n) * Double(n + 1) / 2
        for rep in 0..<3 {
            var line = "rep \(rep):"
            for shape in KernelBenchmark.defaultShapes {
                let t = KernelBenchmark.timeSgemm(shape, threads: 1)
                line += " sgemm \(shape) \(Int(shape.flops / t.callingThreadCPU / 1e9)) GF/s;"
            }
            for t in tiles {
                let c = FlashAttention.Configuration(queryTile: t[0], keyTile: t[1], workers: 1)
                let time = KernelBenchmark.timeCausalAttention(tokens: n, geometry: g, configuration: c)
                line += " \(t[0])x\(t[1]) \(Int(flops / time.callingThreadCPU / 1e9))"
            }
            print(line)
        }
    }
}


@Suite("KernelBenchmark API (tiny sizes)")
struct KernelBenchmarkSmokeTests {
    @Test("run returns finite positive rates and a readable summary")
    func tinyRun() {
        let result = KernelBenchmark.run(
            shapes: [KernelBenchmark.GemmShape(m: 64, n: 48, k: 32)], attentionTokens: [100],
            decodeContexts: [130], repetitions: 1)
        #expect(result.sgemm.count == 1 && result.attention.count == 1 && result.decode.count == 1)
        #expect(result.sgemmGFLOPS > 0 && result.sgemmGFLOPS.isFinite)
        #expect(result.attention[0].gflops > 0 && result.attention[0].gflops.isFinite)
        #expect(result.attention[0].gflopsPerCPUSecond > 0 && result.attention[0].gflopsPerCPUSecond.isFinite)
        #expect(result.sgemmGFLOPSPerCPUSecond > 0 && result.sgemmGFLOPSPerCPUSecond.isFinite)
        #expect(result.description.contains("GFLOP per CPU-second"))
        #expect(result.attention[0].flops == 4 * 64 * 9 * 100 * 101 / 2)
        #expect(result.decode[0].kvBytes == 2 * 130 * 192 * 4)
        #expect(result.description.contains("flash attention causal N=100"))
        #expect(result.blasConfiguration.contains("core="))
    }
}
