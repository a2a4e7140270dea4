/// Vectorised elementary functions for the hot loops (softmax, SiLU).
///
/// Fast when built for AVX2 + FMA or AVX-512 (`scripts/cpu-flags.sh` passes `-target-cpu` for the
/// machine): `SIMD8<Float>` maps to one `ymm` register and `addingProduct` to `vfmadd`. Without it
/// (e.g. a package depending on the library with default flags) the same code falls back to SSE and
/// libm `fmaf` calls: slower, with the same IEEE results.
public enum FastMath {
    // Minimax coefficients for 2^f on f ∈ [-0.5, 0.5] (Cephes `exp2f`), relative error ≈ 2e-8
    // before Float rounding.
    static let c6: Float = 1.535336188319500e-4
    static let c5: Float = 1.339887440266574e-3
    static let c4: Float = 9.618437357674640e-3
    static let c3: Float = 5.550332471162809e-2
    static let c2: Float = 2.402264791363012e-1
    static let c1: Float = 6.931472028550421e-1

    /// `log2(e)`, to turn `exp(x)` into `exp2(x · log2e)`.
    public static let log2e: Float = 1.4426950408889634

    /// 2^x for 8 lanes. Relative error ≤ ~3e-7 for x ∈ [-126, 127]; x < -126.5 (including -∞)
    /// gives exactly 0 (subnormal results are flushed); x > 127 saturates at about 2^127.5.
    /// NaN input gives an unspecified value.
    @inline(__always)
    public static func exp2(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = clamp(x, -127, 127)
        let (n, e) = roundWithScale(xc)
        let f = xc - n
        var q = SIMD8<Float>(repeating: c6)
        q = SIMD8<Float>(repeating: c5).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c4).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c3).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c2).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c1).addingProduct(q, f)
        q = SIMD8<Float>(repeating: 1).addingProduct(q, f)
        return q * e
    }

    // Degree-5 fit of 2^f on f ∈ [-0.5, 0.5] (iteratively reweighted least squares on the relative
    // error): 7.5e-8 before Float rounding, ≈ 2e-7 evaluated in Float.
    static let e5: Float = 1.3276455e-3
    static let e4: Float = 9.67554e-3
    static let e3: Float = 5.5507135e-2
    static let e2: Float = 2.402212e-1
    static let e1: Float = 6.9314694e-1
    static let e0: Float = 1.0000001

    /// 2^x for 8 lanes with x ≤ 0, the shifted logits of a softmax: one polynomial degree and the
    /// upper clamp fewer than `exp2`. Relative error ≤ ~3e-7 for x ∈ [-126, 0]; x < -126.5
    /// (including -∞) gives exactly 0. Positive x is outside the contract (it is not clamped).
    @inline(__always)
    public static func exp2NonPositive(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = max(x, SIMD8(repeating: -127))
        let (n, e) = roundWithScale(xc)
        let f = xc - n
        var q = SIMD8<Float>(repeating: e5)
        q = SIMD8<Float>(repeating: e4).addingProduct(q, f)
        q = SIMD8<Float>(repeating: e3).addingProduct(q, f)
        q = SIMD8<Float>(repeating: e2).addingProduct(q, f)
        q = SIMD8<Float>(repeating: e1).addingProduct(q, f)
        q = SIMD8<Float>(repeating: e0).addingProduct(q, f)
        return q * e
    }

    /// e^x for 8 lanes: Cody–Waite reduction `x = n·ln2 + r` (|r| ≤ ln2/2, ln2 split in two parts so
    /// `r` is exact) and a degree-6 polynomial for e^r (Cephes `expf`). Relative error ≤ ~3e-7 for
    /// x ∈ [-87, 88]; x < -88 (including -∞) gives 0; x > 88 saturates near 2^127.
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = clamp(x, -88, 88)
        let (n, scale) = roundWithScale(xc * SIMD8(repeating: log2e))
        var r = xc
        r = r.addingProduct(n, SIMD8(repeating: -0.693359375))
        r = r.addingProduct(n, SIMD8(repeating: 2.12194440e-4))
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = SIMD8<Float>(repeating: 1.3981999507e-3).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = SIMD8<Float>(repeating: 5.0000001201e-1).addingProduct(p, r)
        let r2 = r * r
        let y = (r + SIMD8(repeating: 1)).addingProduct(p, r2)
        // Inputs near or below the clamp (x ≤ -87.68 ⇒ n = -127) flush to 0 via a zero exponent field.
        return y * scale
    }

    /// Lanewise max (`vmaxps`); the stdlib's generic `pointwiseMax` is an out-of-line call.
    @inline(__always)
    public static func max(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: a .< b)
    }

    /// Lanewise min (`vminps`).
    @inline(__always)
    public static func min(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: b .< a)
    }

    /// Largest lane (the stdlib's generic `SIMD.max()` is a slow out-of-line loop).
    @inline(__always)
    public static func horizontalMax(_ v: SIMD8<Float>) -> Float {
        let a = max(v.lowHalf, v.highHalf)
        let b = max(a.lowHalf, a.highHalf)
        return Swift.max(b[0], b[1])
    }

    /// Sum of the lanes (pairwise).
    @inline(__always)
    public static func horizontalSum(_ v: SIMD8<Float>) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        return b[0] + b[1]
    }

    @inline(__always)
    static func max(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        a.replacing(with: b, where: a .< b)
    }

    @inline(__always)
    static func max(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
        a.replacing(with: b, where: a .< b)
    }

    /// `x` clamped to `[lo, hi]` lanewise; -∞ becomes `lo`.
    @inline(__always)
    static func clamp(_ x: SIMD8<Float>, _ lo: Float, _ hi: Float) -> SIMD8<Float> {
        min(max(x, SIMD8(repeating: lo)), SIMD8(repeating: hi))
    }

    /// For |t| ≤ 127: `n = round(t)` (to nearest even) and `2^n` as a Float (exactly +0 for n = -127),
    /// without a float→int conversion (Swift's generic `SIMD8<Int32>(_:)` is a per-lane library call):
    /// adding 1.5·2^23 puts `n` in the low mantissa bits.
    @inline(__always)
    static func roundWithScale(_ t: SIMD8<Float>) -> (n: SIMD8<Float>, scale: SIMD8<Float>) {
        let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 · 2^23, bit pattern 0x4B40_0000
        let shifted = t + magic
        let n = shifted - magic
        let ni = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let e = (ni &+ 127) &<< 23
        return (n, unsafeBitCast(e, to: SIMD8<Float>.self))
    }

    /// Scalar 2^x with the same algorithm (used for tails).
    @inline(__always)
    public static func exp2(_ x: Float) -> Float {
        exp2(SIMD8<Float>(repeating: x))[0]
    }

    /// In place `x[i] = e^(x[i])` over a buffer, e.g. to test accuracy. `x`: `count` floats.
    public static func exp(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = SIMD8Load.load(x + i)
            SIMD8Load.store(exp(v), x + i)
            i += 8
        }
        while i < count {
            x[i] = exp(SIMD8<Float>(repeating: x[i]))[0]
            i += 1
        }
    }
}

/// Unaligned 8-lane loads and stores from `Float` pointers (compile to `vmovups`).
enum SIMD8Load {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load(_ p: UnsafePointer<Int32>) -> SIMD8<Int32> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int32>.self)
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}
