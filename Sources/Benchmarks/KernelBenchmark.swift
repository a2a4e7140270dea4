import Dispatch
import Glibc
import Kernels

#if canImport(Glibc)
#endif

/// Measures the kernels against a bare `sgemm` in the same process, so the ratio (not a noisy
/// absolute rate on a shared machine) says how close to the BLAS limit attention runs.
public enum KernelBenchmark {
    /// One `sgemm` shape: `C[m, n] = A[m, k] · B[n, k]ᵀ` (the model's `x · Wᵀ` projection layout).
    public struct GemmShape: Sendable, Hashable, CustomStringConvertible {
        public var m: Int
        public var n: Int
        public var k: Int
        public init(m: Int, n: Int, k: Int) {
            self.m = m
            self.n = n
            self.k = k
        }
        public var description: String { "\(m)×\(n)×\(k)" }
        /// 2·m·n·k.
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
    }

    /// Best-of-repetitions rate of one `sgemm` shape.
    public struct GemmMeasurement: Sendable, Hashable {
        public var shape: GemmShape
        /// Fastest repetition, seconds.
        public var seconds: Double
        /// Fewest process CPU seconds (all threads) over the repetitions.
        public var cpuSeconds: Double
        public var gflops: Double { shape.flops / seconds / 1e9 }
        /// GFLOP per CPU-second: the per-core rate, robust when other processes share the CPUs.
        public var gflopsPerCPUSecond: Double { shape.flops / cpuSeconds / 1e9 }
    }

    /// Best-of-repetitions rate of causal flash attention over `tokens` tokens.
    public struct AttentionMeasurement: Sendable, Hashable {
        public var tokens: Int
        public var geometry: AttentionGeometry
        public var configuration: FlashAttention.Configuration
        /// Fastest repetition, seconds.
        public var seconds: Double
        /// Fewest process CPU seconds (all threads) over the repetitions.
        public var cpuSeconds: Double
        /// Useful FLOP: 4 · headDim · heads · N(N+1)/2 (QKᵀ and PV over the visible pairs only).
        public var flops: Double {
            4 * Double(geometry.headDim) * Double(geometry.heads) * Double(tokens) * Double(tokens + 1) / 2
        }
        public var gflops: Double { flops / seconds / 1e9 }
        /// GFLOP per CPU-second: the per-core rate, robust when other processes share the CPUs.
        public var gflopsPerCPUSecond: Double { flops / cpuSeconds / 1e9 }
    }

    /// Best-of-repetitions time of one decode step's attention: 1 query over `contextTokens` keys.
    public struct DecodeMeasurement: Sendable, Hashable {
        public var contextTokens: Int
        public var geometry: AttentionGeometry
        /// Fastest call, seconds.
        public var seconds: Double
        /// Keys and values read per call, bytes (`2 · contextTokens · kvHeads · headDim · 4`).
        public var kvBytes: Double { 2 * Double(contextTokens) * Double(geometry.kvWidth) * 4 }
        /// Effective KV read bandwidth, GB/s.
        public var gigabytesPerSecond: Double { kvBytes / seconds / 1e9 }
    }

    /// Everything `run` measured.
    public struct Result: Sendable, CustomStringConvertible {
        /// OpenBLAS build and core.
        public var blasConfiguration: String
        /// Workers of the bare `parallelSgemm` (each running single-thread OpenBLAS).
        public var sgemmThreads: Int
        public var sgemm: [GemmMeasurement]
        public var attention: [AttentionMeasurement]
        public var decode: [DecodeMeasurement]

        /// Best bare `sgemm` rate over the measured shapes (the reference for ratios), GFLOP/s.
        public var sgemmGFLOPS: Double { sgemm.map(\.gflops).max() ?? .nan }

        /// Attention rate over the bare `sgemm` rate, per measurement.
        public func ratio(_ m: AttentionMeasurement) -> Double { m.gflops / sgemmGFLOPS }

        /// Best bare `sgemm` GFLOP per CPU-second over the measured shapes.
        public var sgemmGFLOPSPerCPUSecond: Double { sgemm.map(\.gflopsPerCPUSecond).max() ?? .nan }

        /// Attention GFLOP per CPU-second over the bare `sgemm`'s: how close each core runs to BLAS,
        /// whatever else the machine is doing.
        public func cpuRatio(_ m: AttentionMeasurement) -> Double { m.gflopsPerCPUSecond / sgemmGFLOPSPerCPUSecond }

        public var description: String {
            var lines = ["BLAS: \(blasConfiguration)"]
            for g in sgemm {
                lines.append(
                    "sgemm \(g.shape) (\(sgemmThreads) threads): \(fmt(g.seconds * 1e3)) ms, \(fmt(g.gflops)) GFLOP/s; "
                        + "\(fmt(g.gflopsPerCPUSecond)) GFLOP per CPU-second")
            }
            for a in attention {
                lines.append(
                    "flash attention causal N=\(a.tokens) heads \(a.geometry.heads)/\(a.geometry.kvHeads) d=\(a.geometry.headDim) "
                        + "tiles \(a.configuration.queryTile)×\(a.configuration.keyTile) workers \(a.configuration.workers): "
                        + "\(fmt(a.seconds * 1e3)) ms, \(fmt(a.gflops)) GFLOP/s, \(fmt(100 * ratio(a)))% of sgemm; "
                        + "\(fmt(a.gflopsPerCPUSecond)) GFLOP per CPU-second, \(fmt(100 * cpuRatio(a)))% of sgemm's")
            }
            for d in decode {
                lines.append(
                    "decode attention, 1 query over \(d.contextTokens) keys: \(fmt(d.seconds * 1e6)) µs, "
                        + "\(fmt(d.gigabytesPerSecond)) GB/s of KV")
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Duration of one timed region (setup excluded).
    public struct Timing: Sendable, Hashable {
        /// Wall-clock seconds.
        public var wall: Double
        /// CPU seconds of the calling thread only (meaningful for single-threaded runs; robust when
        /// other processes share the CPUs).
        public var callingThreadCPU: Double
        /// CPU seconds of every thread of this process (workers and BLAS threads, including any
        /// BLAS thread spinning while it waits for work).
        public var processCPU: Double
    }

    /// The model's projection shapes at 4096 tokens: gate/up (`4096×1536×576`) and down (`4096×576×1536`).
    public static let defaultShapes = [GemmShape(m: 4096, n: 1536, k: 576), GemmShape(m: 4096, n: 576, k: 1536)]

    /// Measures bare `parallelSgemm` at `shapes` (on `sgemmThreads` workers) and causal flash attention
    /// at each of `attentionTokens`, alternating within each repetition so both see the same machine
    /// load; keeps the fastest repetition of each. Inputs are deterministic pseudo-random values.
    ///
    /// - Complexity: runs every kernel `repetitions` times (8K-token attention is ≈ 0.15 TFLOP).
    public static func run(
        shapes: [GemmShape] = defaultShapes,
        attentionTokens: [Int] = [1024, 4096, 8192],
        decodeContexts: [Int] = [4096, 8192],
        geometry: AttentionGeometry = AttentionGeometry(heads: 9, kvHeads: 3, headDim: 64),
        configuration: FlashAttention.Configuration = .default,
        sgemmThreads: Int = BLAS.defaultWorkers,
        repetitions: Int = 3
    ) -> Result {
        var gemmBest = [Timing](repeating: .never, count: shapes.count)
        var attnBest = [Timing](repeating: .never, count: attentionTokens.count)
        var decodeBest = [Double](repeating: .infinity, count: decodeContexts.count)
        for _ in 0..<max(1, repetitions) {
            for (i, s) in shapes.enumerated() {
                gemmBest[i] = gemmBest[i].fastest(timeSgemm(s, threads: sgemmThreads))
            }
            for (i, n) in attentionTokens.enumerated() {
                attnBest[i] = attnBest[i].fastest(
                    timeCausalAttention(tokens: n, geometry: geometry, configuration: configuration))
            }
            for (i, n) in decodeContexts.enumerated() {
                decodeBest[i] = min(
                    decodeBest[i], timeDecodeAttention(contextTokens: n, geometry: geometry, configuration: configuration))
            }
        }
        return Result(
            blasConfiguration: BLAS.configuration, sgemmThreads: sgemmThreads,
            sgemm: zip(shapes, gemmBest).map { GemmMeasurement(shape: $0, seconds: $1.wall, cpuSeconds: $1.processCPU) },
            attention: zip(attentionTokens, attnBest).map {
                AttentionMeasurement(
                    tokens: $0, geometry: geometry, configuration: configuration, seconds: $1.wall,
                    cpuSeconds: $1.processCPU)
            },
            decode: zip(decodeContexts, decodeBest).map {
                DecodeMeasurement(contextTokens: $0, geometry: geometry, seconds: $1)
            })
    }

    /// Seconds for one `parallelSgemm` of `shape` (`B` transposed) on `threads` workers (each chunk
    /// one single-thread OpenBLAS call, as every product in this package runs).
    public static func timeSgemm(_ shape: GemmShape, threads: Int) -> Timing {
        let a = pseudoRandom(shape.m * shape.k, seed: 1)
        let b = pseudoRandom(shape.n * shape.k, seed: 2)
        var c = [Float](repeating: 0, count: shape.m * shape.n)
        return a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                c.withUnsafeMutableBufferPointer { cb in
                    let start = Stopwatch()
                    BLAS.parallelSgemm(
                        transA: false, transB: true, m: shape.m, n: shape.n, k: shape.k, alpha: 1,
                        a: ab.baseAddress!, lda: shape.k, b: bb.baseAddress!, ldb: shape.k, beta: 0,
                        c: cb.baseAddress!, ldc: shape.n, workers: threads)
                    return start.elapsed()
                }
            }
        }
    }

    /// Seconds for one causal self-attention over `tokens` tokens (positions 0..<tokens).
    public static func timeCausalAttention(
        tokens: Int, geometry: AttentionGeometry, configuration: FlashAttention.Configuration
    ) -> Timing {
        let q = pseudoRandom(tokens * geometry.queryWidth, seed: 3)
        let k = pseudoRandom(tokens * geometry.kvWidth, seed: 4)
        let v = pseudoRandom(tokens * geometry.kvWidth, seed: 5)
        let positions = (0..<tokens).map { Int32($0) }
        var out = [Float](repeating: 0, count: tokens * geometry.queryWidth)
        var lse = [Float](repeating: 0, count: tokens * geometry.heads)
        return q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    positions.withUnsafeBufferPointer { pb in
                        out.withUnsafeMutableBufferPointer { ob in
                            lse.withUnsafeMutableBufferPointer { lb in
                                let start = Stopwatch()
                                FlashAttention.attend(
                                    geometry: geometry, queries: qb.baseAddress!, queryPositions: pb,
                                    keys: kb.baseAddress!, values: vb.baseAddress!, keyPositions: pb,
                                    output: ob.baseAddress!, lse: lb.baseAddress!, configuration: configuration)
                                return start.elapsed()
                            }
                        }
                    }
                }
            }
        }
    }

    /// Fastest of 20 wall-clock timings of one query (position `contextTokens`) attending to
    /// `contextTokens` keys, in seconds.
    public static func timeDecodeAttention(
        contextTokens: Int, geometry: AttentionGeometry, configuration: FlashAttention.Configuration
    ) -> Double {
        let q = pseudoRandom(geometry.queryWidth, seed: 6)
        let k = pseudoRandom(contextTokens * geometry.kvWidth, seed: 7)
        let v = pseudoRandom(contextTokens * geometry.kvWidth, seed: 8)
        let keyPositions = (0..<contextTokens).map { Int32($0) }
        let queryPosition = [Int32(contextTokens)]
        var out = [Float](repeating: 0, count: geometry.queryWidth)
        var lse = [Float](repeating: 0, count: geometry.heads)
        var best = Double.infinity
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    keyPositions.withUnsafeBufferPointer { kp in
                        queryPosition.withUnsafeBufferPointer { qp in
                            out.withUnsafeMutableBufferPointer { ob in
                                lse.withUnsafeMutableBufferPointer { lb in
                                    for _ in 0..<20 {
                                        let start = Stopwatch()
                                        FlashAttention.attend(
                                            geometry: geometry, queries: qb.baseAddress!, queryPositions: qp,
                                            keys: kb.baseAddress!, values: vb.baseAddress!, keyPositions: kp,
                                            output: ob.baseAddress!, lse: lb.baseAddress!,
                                            configuration: configuration)
                                        best = min(best, start.elapsed().wall)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return best
    }

    /// Deterministic values in [-1, 1) (a 32-bit LCG), so benchmarks need no RNG state.
    static func pseudoRandom(_ count: Int, seed: UInt32) -> [Float] {
        var state = seed &* 2_654_435_761 &+ 1
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 23) - 1
        }
    }
}

extension KernelBenchmark.Timing {
    /// Infinite times, the start of a minimum.
    static let never = Self(wall: .infinity, callingThreadCPU: .infinity, processCPU: .infinity)

    /// Fieldwise minimum (the fastest wall time and the fewest CPU seconds, possibly of different
    /// repetitions).
    func fastest(_ other: Self) -> Self {
        Self(wall: min(wall, other.wall), callingThreadCPU: min(callingThreadCPU, other.callingThreadCPU),
             processCPU: min(processCPU, other.processCPU))
    }
}

/// Wall clock, calling-thread and process CPU clocks, started at `init`.
private struct Stopwatch {
    let wall = DispatchTime.now().uptimeNanoseconds
    let cpu = cpuSeconds(CLOCK_THREAD_CPUTIME_ID)
    let process = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID)

    func elapsed() -> KernelBenchmark.Timing {
        KernelBenchmark.Timing(
            wall: Double(DispatchTime.now().uptimeNanoseconds - wall) * 1e-9,
            callingThreadCPU: cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - cpu,
            processCPU: cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process)
    }
}

private func cpuSeconds(_ clock: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

private func fmt(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return String(r)
}
