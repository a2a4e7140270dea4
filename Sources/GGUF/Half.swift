/// IEEE 754 binary16 ("f16") ↔ binary32 conversion by bit manipulation.
///
/// Swift's `Float16` is unavailable on some x86_64 Linux toolchains, so the conversion is
/// done by hand. Decoding handles zeros, subnormals, infinities and NaN exactly (every f16
/// value is representable in f32); encoding rounds to nearest, ties to even, overflowing to
/// ±infinity and producing subnormals/zero for tiny magnitudes, like hardware conversion.
public enum Half {
    /// Converts f16 bits to the exactly equal `Float`.
    @inlinable
    public static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        var mant = UInt32(h & 0x03FF)
        if exp == 0x1F {  // inf / nan: keep payload
            return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
        }
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            // Subnormal: value = mant * 2^-24. Normalize.
            var e: UInt32 = 127 - 15 + 1
            while mant & 0x0400 == 0 {
                mant <<= 1
                e -= 1
            }
            mant &= 0x03FF
            return Float(bitPattern: sign | (e << 23) | (mant << 13))
        }
        return Float(bitPattern: sign | ((exp + 127 - 15) << 23) | (mant << 13))
    }

    /// Converts a `Float` to the nearest f16 (round to nearest, ties to even).
    public static func fromFloat(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        let mant = x & 0x007F_FFFF
        if exp == 0xFF {  // inf / nan
            return sign | 0x7C00 | (mant != 0 ? UInt16(0x0200 | (mant >> 13)) : 0)
        }
        let e = exp - 127 + 15  // rebiased exponent
        if e >= 0x1F { return sign | 0x7C00 }  // overflow → inf
        if e <= 0 {
            // Subnormal or zero in f16. Value = (1.mant) * 2^(exp-127); f16 subnormal unit 2^-24.
            if e < -10 { return sign }  // below half of the smallest subnormal → ±0
            let full = mant | 0x0080_0000  // 24-bit significand
            let shift = UInt32(14 - e)  // 13 + (1 - e)
            var h = full >> shift
            let rem = full & ((1 << shift) - 1)
            let half: UInt32 = 1 << (shift - 1)
            if rem > half || (rem == half && (h & 1) == 1) { h += 1 }
            return sign | UInt16(h)
        }
        var h = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }  // may carry into exp → inf ok
        return sign | UInt16(h)
    }

    /// All 65,536 f16 values decoded, for fast per-element F16 dequantization.
    static let table: [Float] = (0...0xFFFF).map { toFloat(UInt16($0)) }
}
