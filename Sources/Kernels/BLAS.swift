import COpenBLAS

#if canImport(Glibc)
import Glibc
#endif

/// The one door to OpenBLAS: row-major single-precision BLAS calls used by every kernel and model.
///
/// This is the only file in the package that imports `COpenBLAS`. Everything is row-major `Float`.
/// OpenBLAS keeps one process-wide thread pool; `threadCount` reads and sets it.
///
/// Core selection: a `DYNAMIC_ARCH` OpenBLAS (Debian's) picks its kernels from the CPU model and
/// falls back to generic SSE3 "Prescott" kernels on CPU models it does not know (seen on this
/// project's cloud VMs: an "Intel Xeon Processor" with AVX-512 ran `sgemm` at ~7 GFLOP/s instead of
/// ~60–170). On first use, if `OPENBLAS_CORETYPE` is not set and such a fallback core was chosen
/// while the CPU reports AVX2+FMA (or AVX-512), `BLAS` re-initialises OpenBLAS with the Haswell (or
/// SkylakeX) kernels. See `coreSelection`.
public enum BLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, row-major.
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

    /// `y = alpha · op(A) · x + beta · y` with row-major `A` of `[m, n]` (row stride `lda ≥ n`).
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

    /// Number of threads OpenBLAS uses inside one call (a process-wide setting).
    ///
    /// Changing it affects later calls from every thread. Values below 1 are clamped to 1.
    public static var threadCount: Int {
        get {
            _ = coreSelection
            return Int(openblas_get_num_threads())
        }
        set {
            _ = coreSelection
            openblas_set_num_threads(Int32(max(1, newValue)))
        }
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
    /// Set `OPENBLAS_CORETYPE` in the environment to choose the core yourself.
    public static let coreSelection: String = selectCore()

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
