import COpenBLAS
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The one door to OpenBLAS: row-major single-precision BLAS calls used by every kernel and model.
///
/// This is the only file in the package that imports `COpenBLAS`. Everything is row-major `Float`.
///
/// Reproducibility: OpenBLAS's result depends on its thread count — its threaded drivers split a
/// product over M and N differently from the single-thread driver, so 2–72% of the elements of an
/// `sgemm` differ in the last bits between 1 and 2 threads (measured on the Zen and Haswell
/// kernels of OpenBLAS 0.3.21; `Docs/Determinism.md`). The count is one process-wide
/// setting, so a call made while another thread had changed it gave a result that depended on
/// timing. `BLAS` therefore pins OpenBLAS to **one thread per call**, once, before the first call,
/// and never changes it. Parallelism is ours: `parallelSgemm`/`parallelSgemv` cut a product into
/// chunks whose geometry depends on the shape only (never on the worker count or the timing) and
/// hand the chunks to worker threads, so their result is the same bits for any number of workers.
///
/// Core selection: a `DYNAMIC_ARCH` OpenBLAS (Debian's) picks its kernels from the CPU model and
/// falls back to generic SSE3 "Prescott" kernels on CPU models it does not know (seen on this
/// project's cloud VMs: an "Intel Xeon Processor" with AVX-512 ran `sgemm` at ~7 GFLOP/s instead of
/// ~60–170). On first use, if `OPENBLAS_CORETYPE` is not set and such a fallback core was chosen
/// while the CPU reports AVX2+FMA (or AVX-512), `BLAS` re-initialises OpenBLAS with the Haswell (or
/// SkylakeX) kernels. See `coreSelection`.
public enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, row-major, on the calling thread (one OpenBLAS call).
    ///
    /// - Parameters:
    ///   - transA: `op(A) = Aᵀ` when true. `op(A)` is `[m, k]`; `A` itself is `[m, k]` (lda ≥ k) or,
    ///     transposed, `[k, m]` (lda ≥ m).
    ///   - transB: `op(B) = Bᵀ` when true. `op(B)` is `[k, n]`; `B` is `[k, n]` (ldb ≥ n) or `[n, k]`
    ///     (ldb ≥ k).
    ///   - c: `[m, n]` with row stride `ldc ≥ n`. Read only when `beta ≠ 0`.
    /// - Complexity: 2·m·n·k FLOP.
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "BLAS.sgemm: negative dimension m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        _ = coreSelection
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
            blasint(ldc))
    }

    /// `y = alpha · op(A) · x + beta · y` with row-major `A` of `[m, n]` (row stride `lda ≥ n`), on
    /// the calling thread.
    ///
    /// - Parameters:
    ///   - trans: when false `x` has `n` elements and `y` has `m`; when true `x` has `m`, `y` has `n`.
    /// - Complexity: 2·m·n FLOP.
    public static func sgemv(
        trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        precondition(m >= 0 && n >= 0, "BLAS.sgemv: negative dimension m=\(m) n=\(n)")
        if m == 0 || n == 0 { return }
        _ = coreSelection
        cblas_sgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a,
            blasint(lda), x, 1, beta, y, 1)
    }

    /// Worker threads of every parallel kernel when the caller gives none (`parallelSgemm`,
    /// `FlashAttention`, `QuantizedMatVec`): `STARSIM_WORKERS` if set to a positive integer, else the
    /// active processor count. Changes speed, never results.
    public static let defaultWorkers: Int = {
        if let s = ProcessInfo.processInfo.environment["STARSIM_WORKERS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Rows of one chunk of `parallelSgemm` (when `m` has at least two such chunks).
    public static let rowChunk = 256
    /// Columns of one chunk of `parallelSgemm` when `m` is too small to split (e.g. an output head
    /// over a few tokens); `parallelSgemv` is such a product with `m = 1`.
    public static let columnChunk = 1024
    /// Products below this many multiply-adds (m·n·k) run as one call: dispatch would cost more.
    public static let parallelThreshold = 1 << 21

    /// The chunks `parallelSgemm` computes separately, as row and column ranges of `C`: a function
    /// of the shape alone, so the result never depends on how many workers take them.
    public static func gemmChunks(m: Int, n: Int, k: Int) -> [(rows: Range<Int>, columns: Range<Int>)] {
        if m * n * max(k, 1) < parallelThreshold { return [(0..<m, 0..<n)] }
        if m >= 2 * rowChunk {
            return stride(from: 0, to: m, by: rowChunk).map { ($0..<min(m, $0 + rowChunk), 0..<n) }
        }
        if n >= 2 * columnChunk {
            return stride(from: 0, to: n, by: columnChunk).map { (0..<m, $0..<min(n, $0 + columnChunk)) }
        }
        return [(0..<m, 0..<n)]
    }

    /// `sgemm` cut into the fixed chunks of `gemmChunks(m:n:k:)`, each one single-thread OpenBLAS
    /// call, taken by up to `workers` threads. The result is bitwise the same for every worker count
    /// and every timing (it may differ in the last bits from one `sgemm` over the whole product).
    /// Parameters and shapes as `sgemm`.
    public static func parallelSgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int, workers: Int = defaultWorkers
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "BLAS.parallelSgemm: negative dimension m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        let chunks = gemmChunks(m: m, n: n, k: k)
        WorkSharing.forEach(chunks.count, workers: workers) { i in
            let (rows, columns) = chunks[i]
            let aChunk = transA ? a + rows.lowerBound : a + rows.lowerBound * lda
            let bChunk = transB ? b + columns.lowerBound * ldb : b + columns.lowerBound
            sgemm(transA: transA, transB: transB, m: rows.count, n: columns.count, k: k, alpha: alpha,
                  a: aChunk, lda: lda, b: bChunk, ldb: ldb, beta: beta,
                  c: c + rows.lowerBound * ldc + columns.lowerBound, ldc: ldc)
        }
    }

    /// `sgemv` cut by the same rule as `parallelSgemm`: its `outputs` results are the `n` of a
    /// `1 × outputs × inputs` product, so `gemmChunks(m: 1, n: outputs, k: inputs)` gives the chunks
    /// (whole when small, else `columnChunk` outputs each), taken by up to `workers` threads: bitwise
    /// the same for every worker count. Parameters and shapes as `sgemv`.
    public static func parallelSgemv(
        trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>, workers: Int = defaultWorkers
    ) {
        precondition(m >= 0 && n >= 0, "BLAS.parallelSgemv: negative dimension m=\(m) n=\(n)")
        if m == 0 || n == 0 { return }
        let (outputs, inputs) = trans ? (n, m) : (m, n)
        let chunks = gemmChunks(m: 1, n: outputs, k: inputs).map(\.columns)
        WorkSharing.forEach(chunks.count, workers: workers) { i in
            let lo = chunks[i].lowerBound, count = chunks[i].count
            if trans {
                sgemv(trans: true, m: m, n: count, alpha: alpha, a: a + lo, lda: lda, x: x, beta: beta, y: y + lo)
            } else {
                sgemv(trans: false, m: count, n: n, alpha: alpha, a: a + lo * lda, lda: lda, x: x, beta: beta, y: y + lo)
            }
        }
    }

    /// OpenBLAS threads per call: always 1 (see the type's comment).
    public static var threadCount: Int {
        _ = coreSelection
        return Int(openblas_get_num_threads())
    }

    /// OpenBLAS build and selected core, e.g. `"OpenBLAS 0.3.21 DYNAMIC_ARCH … core=SkylakeX (…)"`,
    /// followed by what the core check did.
    public static var configuration: String {
        let selection = coreSelection
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config) + " core=" + currentCore + " (" + selection + ")"
    }

    /// OpenBLAS's current kernel set, e.g. `"Haswell"`.
    static var currentCore: String {
        openblas_get_corename().map { String(cString: $0) } ?? "?"
    }

    /// What the one-time core check did (runs before the first BLAS call; thread-safe lazy global).
    /// It also pins OpenBLAS to one thread per call, for good.
    /// Set `OPENBLAS_CORETYPE` in the environment to choose the core yourself.
    public static let coreSelection: String = {
        let selection = selectCore()
        openblas_set_num_threads(1)
        return selection
    }()

    /// Kernel sets good enough to keep (names as `openblas_get_corename` prints them, lowercased).
    private static let modernCores: Set<String> = [
        "haswell", "zen", "skylakex", "cooperlake", "sapphirerapids",
    ]

    private static func selectCore() -> String {
        let detected = currentCore
        if let forced = getenv("OPENBLAS_CORETYPE") {
            return "OPENBLAS_CORETYPE=\(String(cString: forced))"
        }
        if modernCores.contains(detected.lowercased()) { return "detected" }
        let flags = cpuFlags()
        let wanted: String
        if ["avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd"].allSatisfy(flags.contains) {
            wanted = "SkylakeX"
        } else if flags.contains("avx2") && flags.contains("fma") {
            wanted = "Haswell"
        } else {
            return "detected; CPU lacks AVX2/FMA"
        }
        // gotoblas_dynamic_init() reads OPENBLAS_CORETYPE and is a no-op while a core is set;
        // gotoblas_dynamic_quit() clears it. Both are exported by DYNAMIC_ARCH builds only.
        guard let quitSymbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
            let initSymbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init")
        else { return "detected \(detected); not a DYNAMIC_ARCH build, kept" }
        typealias VoidFunction = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quitSymbol, to: VoidFunction.self)()
        unsafeBitCast(initSymbol, to: VoidFunction.self)()
        return "detected \(detected), replaced by \(wanted) from CPU flags"
    }

    /// CPU feature flags from `/proc/cpuinfo` (empty where unavailable).
    private static func cpuFlags() -> Set<String> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            if text.hasPrefix("flags") {
                return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }).map(String.init))
            }
        }
        return []
    }
}
