import Kernels

/// The model's numeric primitives, each a thin call into `Kernels` (all BLAS goes through
/// `Kernels.BLAS`; nothing here imports OpenBLAS).
enum Ops {
    /// `y[n, out] (+)= x[n, in] · W[out, in]ᵀ` — a Linear layer with weights in GGUF row-major
    /// `[out][in]` storage. One row uses `parallelSgemv`, several rows `parallelSgemm` with `transB`
    /// (fixed chunks over the cores: the result does not depend on the worker count).
    ///
    /// - Parameters:
    ///   - rowStride: distance between rows of `x` (≥ `inFeatures`; default `inFeatures`).
    ///   - accumulate: add into `y` (residual) instead of overwriting it.
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, rowStride: Int? = nil,
        _ w: UnsafePointer<Float>, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        if rows == 0 { return }
        let beta: Float = accumulate ? 1 : 0
        if rows == 1 {
            BLAS.parallelSgemv(trans: false, m: outFeatures, n: inFeatures, alpha: 1, a: w, lda: inFeatures,
                       x: x, beta: beta, y: y)
        } else {
            BLAS.parallelSgemm(transA: false, transB: true, m: rows, n: outFeatures, k: inFeatures, alpha: 1,
                       a: x, lda: rowStride ?? inFeatures, b: w, ldb: inFeatures, beta: beta,
                       c: y, ldc: outFeatures)
        }
    }

    /// `linear` with a layer's `LinearWeights`: a single row (a decode step) reads the quantized
    /// blocks when `quantized` is true and the weights have them (`QuantizedMatVec`, both cores);
    /// otherwise, and for several rows, the f32 copy goes through BLAS.
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, rowStride: Int? = nil,
        _ w: LinearWeights, outFeatures: Int, quantized: Bool,
        into y: UnsafeMutablePointer<Float>, accumulate: Bool
    ) {
        if rows == 1 && quantized && !w.quantized.isEmpty {
            QuantizedMatVec.multiply(w.quantized, x: x, into: y, accumulate: accumulate)
            return
        }
        w.f32.withUnsafeBufferPointer { wp in
            linear(x, rows: rows, inFeatures: inFeatures, rowStride: rowStride, wp.baseAddress!,
                   outFeatures: outFeatures, into: y, accumulate: accumulate)
        }
    }

    /// RMSNorm of `rows` rows of width `cols` (`out` may alias `x`).
    static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, cols: Int, weight: UnsafePointer<Float>, epsilon: Float,
        into out: UnsafeMutablePointer<Float>
    ) {
        RMSNorm.apply(x: x, rows: rows, cols: cols, weight: weight, eps: epsilon, out: out)
    }

    /// In place `gate ← silu(gate) ⊙ up` over `count` floats (`into` must be `gate`).
    static func siluMul(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>, count: Int) {
        precondition(gate == into, "Ops.siluMul is in place")
        Activation.siluMul(gate: gate, up: up, count: count)
    }

    /// Exact attention of queries over keys/values with the position rule
    /// (key j visible to query i iff `keyPositions[j] <= queryPositions[i]`).
    static func attention(
        geometry: AttentionGeometry, q: [Float], queryPositions: [Int32],
        keys: [Float], values: [Float], keyPositions: [Int32]
    ) -> AttentionPartial {
        FlashAttention.attend(geometry: geometry, queries: q, queryPositions: queryPositions,
                              keys: keys, values: values, keyPositions: keyPositions)
    }
}

/// The weights of one Linear layer (possibly several GGUF tensors stacked along the output
/// dimension, e.g. Wq; Wk; Wv).
public struct LinearWeights: Sendable {
    /// Row-major `[out, in]` f32 (dequantized at load), used by batched steps.
    public internal(set) var f32: [Float]
    /// The same rows as quantized blocks in the mapped GGUF, one matrix per tensor, in stacking
    /// order; empty when any tensor is in a format `QuantizedMatVec` cannot read (F32, F16, ...).
    public internal(set) var quantized: [QuantizedMatrix]
}
