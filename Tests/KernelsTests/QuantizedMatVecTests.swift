import Kernels
import Testing

/// `QuantizedMatVec` against a Double-precision reference written from the ggml block layouts
/// (independent of `GGUF.Dequantize`, which LlamaTests.QuantizedDecodeTests compares with).
@Suite struct QuantizedMatVecTests {
    /// Random blocks with f16 scales in ±[2⁻¹², 2⁻⁴] (Q4_1 offsets ×8) and random codes.
    static func blocks(_ format: QuantizedFormat, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        var bytes: [UInt8] = []
        func half(_ f: Float) {
            let h = Float16(f).bitPattern
            bytes.append(UInt8(h & 0xFF))
            bytes.append(UInt8(h >> 8))
        }
        func scale() -> Float {
            Float.random(in: 1...16, using: &rng) / 256 * (Bool.random(using: &rng) ? 1 : -1) / 16
        }
        for _ in 0..<(rows * columns / 32) {
            half(scale())
            if format == .q4_1 { half(scale() * 8) }
            for _ in 0..<(format == .q8_0 ? 32 : 16) { bytes.append(UInt8.random(in: 0...255, using: &rng)) }
        }
        return bytes
    }

    /// Weight (r, c) decoded in Double from the block layout.
    static func weight(_ raw: [UInt8], _ format: QuantizedFormat, columns: Int, _ r: Int, _ c: Int) -> Double {
        let block = (r * columns + c) / 32, j = c % 32
        let o = block * format.blockBytes
        func half(_ at: Int) -> Double { Double(Float(Float16(bitPattern: UInt16(raw[at]) | UInt16(raw[at + 1]) << 8))) }
        switch format {
        case .q8_0:
            return half(o) * Double(Int8(bitPattern: raw[o + 2 + j]))
        case .q4_0:
            let q = j < 16 ? raw[o + 2 + j] & 15 : raw[o + 2 + j - 16] >> 4
            return half(o) * Double(Int(q) - 8)
        case .q4_1:
            let q = j < 16 ? raw[o + 4 + j] & 15 : raw[o + 4 + j - 16] >> 4
            return half(o) * Double(q) + half(o + 2)
        }
    }

    /// |y − y_ref| ≤ 1e-5 · Σ_c |w·x| per row, for 1 and 2 workers, above and below the
    /// parallel threshold.
    @Test(arguments: QuantizedFormat.allCases, [[3, 64], [130, 1024]])
    func matchesDoubleReference(format: QuantizedFormat, shape: [Int]) {
        let rows = shape[0], columns = shape[1]
        let raw = Self.blocks(format, rows: rows, columns: columns, seed: 3)
        var rng = SeededGenerator(seed: 8)
        let x = rng.normal(columns)
        var reference = [Double](repeating: 0, count: rows), bound = reference
        for r in 0..<rows {
            for c in 0..<columns {
                let p = Self.weight(raw, format, columns: columns, r, c) * Double(x[c])
                reference[r] += p
                bound[r] += abs(p)
            }
        }
        for workers in [1, 2] {
            var y = [Float](repeating: .nan, count: rows)
            raw.withUnsafeBytes { bytes in
                let m = QuantizedMatrix(format: format, rows: rows, columns: columns, bytes: bytes)
                QuantizedMatVec.multiply([m], x: x, into: &y, accumulate: false, workers: workers)
            }
            var worst = 0.0
            for r in 0..<rows { worst = max(worst, abs(Double(y[r]) - reference[r]) / (1e-5 * bound[r] + 1e-30)) }
            #expect(worst <= 1, "\(format) [\(rows), \(columns)] workers \(workers): max error / tolerance = \(worst)")
        }
    }

    @Test func emptyInputsAreNoOps() {
        var y: [Float] = [1, 2]
        let x = [Float](repeating: 1, count: 32)
        QuantizedMatVec.multiply([], x: x, into: &y, accumulate: false)
        let raw = [UInt8](repeating: 0, count: 0)
        raw.withUnsafeBytes { bytes in
            let m = QuantizedMatrix(format: .q8_0, rows: 0, columns: 32, bytes: bytes)
            #expect(m.byteCount == 0)
            QuantizedMatVec.multiply([m], x: x, into: &y, accumulate: false)
        }
        #expect(y == [1, 2])
    }
}
