#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Root-mean-square layer normalisation (Zhang & Sennrich 2019), as in Llama.
public enum RMSNorm {
    /// `out[r, c] = x[r, c] / sqrt(mean_c(x[r, :]²) + eps) · weight[c]`.
    ///
    /// - Parameters:
    ///   - x: `[rows, cols]`.
    ///   - weight: `[cols]`.
    ///   - out: `[rows, cols]`; may be the same memory as `x` (in place).
    /// - Complexity: O(rows · cols).
    public static func apply(
        x: UnsafePointer<Float>, rows: Int, cols: Int, weight: UnsafePointer<Float>, eps: Float,
        out: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let src = x + r * cols
            let dst = out + r * cols
            var acc = SIMD8<Float>(repeating: 0)
            var c = 0
            while c + 8 <= cols {
                let v = SIMD8Load.load(src + c)
                acc = acc.addingProduct(v, v)
                c += 8
            }
            var sum = FastMath.horizontalSum(acc)
            while c < cols {
                sum += src[c] * src[c]
                c += 1
            }
            let inv = 1 / (sum / Float(cols) + eps).squareRoot()
            for c in 0..<cols { dst[c] = src[c] * inv * weight[c] }
        }
    }
}

/// Rotary position embedding (Su et al. 2021) on adjacent pairs `(2i, 2i+1)` of every head, with
/// `θ_i = base^(−2i/headDim)` and angle `position · θ_i` (computed in Double, so positions up to
/// millions keep full Float accuracy).
///
/// This is the layout of llama.cpp-converted GGUF weights (their Q/K rows are permuted so that adjacent
/// pairs rotate together).
public enum RoPE {
    /// Precomputed cos/sin for a list of positions; reuse it for q and k of every layer.
    public struct Table: Sendable {
        /// Positions, one per row.
        public let positions: [Int32]
        /// Head width (even).
        public let headDim: Int
        /// `[positions.count, headDim/2]`.
        let cosTable: [Float]
        /// `[positions.count, headDim/2]`.
        let sinTable: [Float]

        /// - Complexity: O(positions · headDim/2) sin/cos evaluations.
        public init(positions: [Int32], headDim: Int, base: Double) {
            precondition(headDim > 0 && headDim % 2 == 0, "RoPE.Table: headDim \(headDim) must be even and positive")
            let half = headDim / 2
            var cosT = [Float](repeating: 0, count: positions.count * half)
            var sinT = [Float](repeating: 0, count: positions.count * half)
            var theta = [Double](repeating: 0, count: half)
            for i in 0..<half { theta[i] = pow(base, -2 * Double(i) / Double(headDim)) }
            for (r, p) in positions.enumerated() {
                for i in 0..<half {
                    let angle = Double(p) * theta[i]
                    cosT[r * half + i] = Float(cos(angle))
                    sinT[r * half + i] = Float(sin(angle))
                }
            }
            self.positions = positions
            self.headDim = headDim
            self.cosTable = cosT
            self.sinTable = sinT
        }

        /// Rotates, in place, every head of every row of `x` (`[positions.count, heads*headDim]`):
        /// `(a, b) ← (a·cos − b·sin, a·sin + b·cos)` for each pair `(x[2i], x[2i+1])`.
        public func apply(to x: UnsafeMutablePointer<Float>, heads: Int) {
            let half = headDim / 2
            let width = heads * headDim
            cosTable.withUnsafeBufferPointer { cosB in
                sinTable.withUnsafeBufferPointer { sinB in
                    guard let cp = cosB.baseAddress, let sp = sinB.baseAddress else { return }
                    for r in 0..<positions.count {
                        let c = cp + r * half
                        let s = sp + r * half
                        for h in 0..<heads {
                            let v = x + r * width + h * headDim
                            for i in 0..<half {
                                let a = v[2 * i]
                                let b = v[2 * i + 1]
                                v[2 * i] = a * c[i] - b * s[i]
                                v[2 * i + 1] = a * s[i] + b * c[i]
                            }
                        }
                    }
                }
            }
        }
    }

    /// Rotates `x` (`[positions.count, heads*headDim]`) in place; builds a one-off `Table`.
    public static func apply(
        to x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, positions: [Int32], base: Double
    ) {
        Table(positions: positions, headDim: headDim, base: base).apply(to: x, heads: heads)
    }
}

/// Elementwise activations.
public enum Activation {
    /// SwiGLU gate: `gate[i] = silu(gate[i]) · up[i]` with `silu(x) = x / (1 + e^(−x))`, in place over
    /// `count` floats (vectorised exp, relative error ≲ 1e-6).
    public static func siluMul(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        let one = SIMD8<Float>(repeating: 1)
        var i = 0
        while i + 8 <= count {
            let g = SIMD8Load.load(gate + i)
            let u = SIMD8Load.load(up + i)
            let silu = g / (one + FastMath.exp(-g))
            SIMD8Load.store(silu * u, gate + i)
            i += 8
        }
        while i < count {
            let g = gate[i]
            gate[i] = g / (1 + exp(-g)) * up[i]
            i += 1
        }
    }
}

/// Residual connections.
public enum Residual {
    /// `x[i] += y[i]` over `count` floats.
    public static func add(_ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }
}
