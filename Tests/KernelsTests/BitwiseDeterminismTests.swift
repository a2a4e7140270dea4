import Foundation
import Kernels
import Testing

/// Results must not depend on the worker count, on what other threads do at the same time, or on
/// which OpenBLAS core the machine picks (`.ci/run` runs this suite with `OPENBLAS_CORETYPE` unset
/// and set to `Haswell`). Root cause of the failures these guard against: OpenBLAS's result depends
/// on its thread count, which is process-wide (`Docs/Determinism.md`).
@Suite("Bitwise determinism of the BLAS door and attention")
struct BitwiseDeterminismTests {
    /// Model-like shapes: prefill projections (row chunks), an output head over few rows (column
    /// chunks), a small product (one call).
    static let shapes: [(m: Int, n: Int, k: Int)] = [(600, 960, 576), (5, 4100, 576), (37, 64, 48), (513, 1536, 576)]

    private static func operands(_ m: Int, _ n: Int, _ k: Int, seed: UInt64) -> (a: [Float], b: [Float]) {
        var rng = SeededGenerator(seed: seed)
        return (rng.normal(m * k), rng.normal(n * k))
    }

    private static func product(_ a: [Float], _ b: [Float], _ m: Int, _ n: Int, _ k: Int, workers: Int) -> [Float] {
        var c = [Float](repeating: 1, count: m * n)  // beta = 0: the initial values must not leak
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.parallelSgemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, lda: k,
                                       b: bp.baseAddress!, ldb: k, beta: 0, c: cp.baseAddress!, ldc: n, workers: workers)
                }
            }
        }
        return c
    }

    @Test func openBLASRunsOneThreadPerCall() {
        var y: [Float] = [0]
        BLAS.sgemv(trans: false, m: 1, n: 2, alpha: 1, a: [2, 3], lda: 2, x: [5, 7], beta: 0, y: &y)
        #expect(y == [31])
        #expect(BLAS.threadCount == 1)
    }

    @Test func bitwiseParallelSgemmIsIndependentOfWorkers() {
        for (i, s) in Self.shapes.enumerated() {
            let (a, b) = Self.operands(s.m, s.n, s.k, seed: UInt64(10 + i))
            let one = Self.product(a, b, s.m, s.n, s.k, workers: 1)
            for workers in [2, 3, 7] {
                #expect(Self.product(a, b, s.m, s.n, s.k, workers: workers) == one, "\(s), \(workers) workers")
            }
            // Against a Double reference: float accumulation over k ≤ 576 terms of N(0,1)² products.
            var worst = 0.0
            for r in stride(from: 0, to: s.m, by: max(1, s.m / 7)) {
                for col in stride(from: 0, to: s.n, by: max(1, s.n / 11)) {
                    var dot = 0.0
                    for t in 0..<s.k { dot += Double(a[r * s.k + t]) * Double(b[col * s.k + t]) }
                    worst = max(worst, abs(dot - Double(one[r * s.n + col])))
                }
            }
            #expect(worst < 1e-3, "\(s): max |Δ| \(worst) vs Double")
        }
    }

    /// The definition: each chunk of `gemmChunks` is one single-thread `sgemm` — computed here chunk
    /// by chunk, independently of `parallelSgemm`.
    @Test func bitwiseParallelSgemmEqualsItsChunksOneByOne() {
        for (i, s) in Self.shapes.enumerated() {
            let (a, b) = Self.operands(s.m, s.n, s.k, seed: UInt64(20 + i))
            var want = [Float](repeating: 0, count: s.m * s.n)
            for (rows, cols) in BLAS.gemmChunks(m: s.m, n: s.n, k: s.k) {
                let ca = Array(a[(rows.lowerBound * s.k)..<(rows.upperBound * s.k)])
                let cb = Array(b[(cols.lowerBound * s.k)..<(cols.upperBound * s.k)])
                var cc = [Float](repeating: 0, count: rows.count * cols.count)
                BLAS.sgemm(transA: false, transB: true, m: rows.count, n: cols.count, k: s.k, alpha: 1, a: ca, lda: s.k,
                           b: cb, ldb: s.k, beta: 0, c: &cc, ldc: cols.count)
                for r in rows { for c in cols { want[r * s.n + c] = cc[(r - rows.lowerBound) * cols.count + c - cols.lowerBound] } }
            }
            #expect(Self.product(a, b, s.m, s.n, s.k, workers: 2) == want, "\(s)")
        }
        #expect(BLAS.gemmChunks(m: 600, n: 960, k: 576).count == 3)   // 256 + 256 + 88 rows
        #expect(BLAS.gemmChunks(m: 5, n: 4100, k: 576).count == 5)    // 4 × 1024 + 4 columns
        #expect(BLAS.gemmChunks(m: 37, n: 64, k: 48).count == 1)
    }

    @Test func bitwiseParallelSgemvIsIndependentOfWorkers() {
        var rng = SeededGenerator(seed: 31)
        let (m, n) = (4100, 576)
        let a = rng.normal(m * n), x = rng.normal(max(m, n))
        func run(trans: Bool, workers: Int) -> [Float] {
            var y = [Float](repeating: 1, count: trans ? n : m)
            a.withUnsafeBufferPointer { ap in
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        BLAS.parallelSgemv(trans: trans, m: m, n: n, alpha: 1, a: ap.baseAddress!, lda: n, x: xp.baseAddress!,
                                           beta: 0, y: yp.baseAddress!, workers: workers)
                    }
                }
            }
            return y
        }
        for trans in [false, true] {
            let one = run(trans: trans, workers: 1)
            #expect(run(trans: trans, workers: 2) == one && run(trans: trans, workers: 5) == one, "trans \(trans)")
        }
    }

    /// What failed inside the full parallel suite: the same product computed while other threads run
    /// BLAS products and multi-worker attention (which used to change OpenBLAS's process-wide thread
    /// count) must give the same bits as when computed alone.
    @Test func bitwiseResultsDoNotDependOnConcurrentWork() async {
        let s = Self.shapes[0]
        let (a, b) = Self.operands(s.m, s.n, s.k, seed: 41)
        let alone = Self.product(a, b, s.m, s.n, s.k, workers: 2)
        let g = AttentionGeometry(heads: 9, kvHeads: 3, headDim: 64)
        var rng = SeededGenerator(seed: 42)
        let q = rng.normal(300 * g.queryWidth), kv = rng.normal(300 * g.kvWidth)
        let positions = (0..<300).map { Int32($0) }
        let attentionAlone = FlashAttention.attend(geometry: g, queries: q, queryPositions: positions, keys: kv,
                                                   values: kv, keyPositions: positions)
        let results = await withTaskGroup(of: (Bool, Bool).self) { group in
            for task in 0..<6 {
                group.addTask {
                    var same = (true, true)
                    for _ in 0..<3 {
                        if task % 2 == 0 {
                            same.0 = same.0 && Self.product(a, b, s.m, s.n, s.k, workers: 1 + task % 3) == alone
                        } else {
                            var c = FlashAttention.Configuration.default
                            c.workers = task % 4 + 1
                            let got = FlashAttention.attend(geometry: g, queries: q, queryPositions: positions, keys: kv,
                                                            values: kv, keyPositions: positions, configuration: c)
                            same.1 = same.1 && got.output == attentionAlone.output && got.lse == attentionAlone.lse
                        }
                    }
                    return same
                }
            }
            var all: [(Bool, Bool)] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.allSatisfy { $0.0 }, "a product changed while other threads worked")
        #expect(results.allSatisfy { $0.1 }, "attention changed while other threads worked")
    }
}
