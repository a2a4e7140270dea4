import COpenBLAS

/// The one door to OpenBLAS: row-major single-precision BLAS calls used by every kernel and model.
///
/// This is the only file in the package that imports `COpenBLAS`. Everything is row-major `Float`.
/// OpenBLAS keeps one process-wide thread pool; `threadCount` reads and sets it.
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
        cblas_sgemv(
            CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a,
            blasint(lda), x, 1, beta, y, 1)
    }

    /// Number of threads OpenBLAS uses inside one call (a process-wide setting).
    ///
    /// Changing it affects later calls from every thread. Values below 1 are clamped to 1.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// OpenBLAS build and selected core, e.g. `"OpenBLAS 0.3.21 DYNAMIC_ARCH … core=SkylakeX"`.
    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown" }
        let core = openblas_get_corename().map { String(cString: $0) } ?? "?"
        return String(cString: config) + " core=" + core
    }
}
