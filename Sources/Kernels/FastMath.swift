/// Vectorised elementary functions for the hot loops (softmax, SiLU).
///
/// Built for AVX2 + FMA (see the Kernels target flags in `Package.swift`): `SIMD8<Float>` maps to one
/// `ymm` register and `addingProduct` to `vfmadd`.
public enum FastMath {
    // Minimax coefficients for 2^f on f ∈ [-0.5, 0.5] (Cephes `exp2f`), relative error ≈ 2e-8
    // before Float rounding.
    @usableFromInline static let c6: Float = 1.535336188319500e-4
    @usableFromInline static let c5: Float = 1.339887440266574e-3
    @usableFromInline static let c4: Float = 9.618437357674640e-3
    @usableFromInline static let c3: Float = 5.550332471162809e-2
    @usableFromInline static let c2: Float = 2.402264791363012e-1
    @usableFromInline static let c1: Float = 6.931472028550421e-1

    /// `log2(e)`, to turn `exp(x)` into `exp2(x · log2e)`.
    public static let log2e: Float = 1.4426950408889634

    /// 2^x for 8 lanes. Relative error ≤ ~3e-7 for x ∈ [-126, 127]; x < -126.5 (including -∞)
    /// gives exactly 0 (subnormal results are flushed); x > 127 saturates at about 2^127.5.
    /// NaN input gives an unspecified value.
    @inlinable @inline(__always)
    public static func exp2(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = x.clamped(lowerBound: SIMD8(repeating: -127), upperBound: SIMD8(repeating: 127))
        let n = xc.rounded(.toNearestOrEven)
        let f = xc - n
        var q = SIMD8<Float>(repeating: c6)
        q = SIMD8<Float>(repeating: c5).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c4).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c3).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c2).addingProduct(q, f)
        q = SIMD8<Float>(repeating: c1).addingProduct(q, f)
        q = SIMD8<Float>(repeating: 1).addingProduct(q, f)
        // 2^n via the exponent field; n = -127 gives the bit pattern 0, i.e. +0.
        let e = (SIMD8<Int32>(n) &+ 127) &<< 23
        return q * unsafeBitCast(e, to: SIMD8<Float>.self)
    }

    /// e^x for 8 lanes: Cody–Waite reduction `x = n·ln2 + r` (|r| ≤ ln2/2, ln2 split in two parts so
    /// `r` is exact) and a degree-6 polynomial for e^r (Cephes `expf`). Relative error ≤ ~3e-7 for
    /// x ∈ [-87, 88]; x < -88 (including -∞) gives 0; x > 88 saturates near 2^127.
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let xc = x.clamped(lowerBound: SIMD8(repeating: -88), upperBound: SIMD8(repeating: 88))
        let n = (xc * SIMD8(repeating: log2e)).rounded(.toNearestOrEven)
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
        let e = (SIMD8<Int32>(n) &+ 127) &<< 23
        return y * unsafeBitCast(e, to: SIMD8<Float>.self)
    }

    /// Scalar 2^x with the same algorithm (used for tails).
    @inlinable @inline(__always)
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
@usableFromInline
enum SIMD8Load {
    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inlinable @inline(__always)
    static func load(_ p: UnsafePointer<Int32>) -> SIMD8<Int32> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int32>.self)
    }

    @inlinable @inline(__always)
    static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }
}
