import GGUF
import Testing
import TestSupport

/// Decodes one hand-made block with the public block decoder.
private func decode(_ type: GGMLType, _ bytes: [UInt8], count: Int = 32) throws -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    try bytes.withUnsafeBytes { raw in
        try out.withUnsafeMutableBufferPointer { try Dequantize.rows(type: type, raw: raw, count: count, into: $0) }
    }
    return out
}

@Suite("GGUF dequantization of hand-made blocks")
struct QuantBlockTests {
    @Test func q8_0Block() throws {
        // d = f16 0x3800 = 0.5 (little-endian 00 38); q = 0, 1, -1, 127, -128, 2, -2, 16, then 24 zeros.
        let bytes: [UInt8] = [0x00, 0x38, 0x00, 0x01, 0xFF, 0x7F, 0x80, 0x02, 0xFE, 0x10]
            + [UInt8](repeating: 0, count: 24)
        // w = d*q = 0, 0.5, -0.5, 63.5, -64, 1, -1, 8, 0...
        let expected: [Float] = [0, 0.5, -0.5, 63.5, -64, 1, -1, 8] + [Float](repeating: 0, count: 24)
        #expect(try decode(.q8_0, bytes) == expected)
    }

    @Test func q4_0Block() throws {
        // d = f16 0x4000 = 2.0. qs[0] = 0x80: low 0 → (0-8)*2 = -16 at j=0, high 8 → 0 at j=16.
        // qs[1] = 0xF1: low 1 → (1-8)*2 = -14 at j=1, high 15 → (15-8)*2 = 14 at j=17.
        // qs[2] = 0x3C: low 12 → 8 at j=2, high 3 → -10 at j=18. qs[3...15] = 0x88 → 0.
        let bytes: [UInt8] = [0x00, 0x40, 0x80, 0xF1, 0x3C] + [UInt8](repeating: 0x88, count: 13)
        var expected = [Float](repeating: 0, count: 32)
        expected[0] = -16; expected[1] = -14; expected[2] = 8
        expected[16] = 0; expected[17] = 14; expected[18] = -10
        #expect(try decode(.q4_0, bytes) == expected)
    }

    @Test func q4_1Block() throws {
        // d = f16 0x3400 = 0.25, m = f16 0xBC00 = -1.0.
        // qs[0] = 0x21: w[0] = 1*0.25-1 = -0.75, w[16] = 2*0.25-1 = -0.5.
        // qs[1] = 0xF0: w[1] = 0*0.25-1 = -1, w[17] = 15*0.25-1 = 2.75.
        // qs[2] = 0x9C: w[2] = 12*0.25-1 = 2, w[18] = 9*0.25-1 = 1.25. qs[3...15] = 0 → -1.
        let bytes: [UInt8] = [0x00, 0x34, 0x00, 0xBC, 0x21, 0xF0, 0x9C] + [UInt8](repeating: 0, count: 13)
        var expected = [Float](repeating: -1, count: 32)
        expected[0] = -0.75; expected[1] = -1; expected[2] = 2
        expected[16] = -0.5; expected[17] = 2.75; expected[18] = 1.25
        #expect(try decode(.q4_1, bytes) == expected)
    }

    @Test func f16Values() throws {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x03FF, 0x3555, 0x8000, 0x7C00, 0xFC00]
        let expected: [Float] = [
            1, -2, 65504, 5.9604644775390625e-08 /* 2^-24 */, 6.103515625e-05 /* 2^-14 */,
            6.097555160522461e-05 /* 1023 * 2^-24 */, 0.333251953125 /* 1365/4096 */, -0.0, .infinity, -.infinity,
        ]
        var bytes: [UInt8] = []
        for b in bits { bytes += [UInt8(b & 0xFF), UInt8(b >> 8)] }
        let got = try decode(.f16, bytes, count: bits.count)
        #expect(got == expected)
        #expect(got[7].sign == .minus)
        #expect(try decode(.f16, [0x00, 0x7E], count: 1)[0].isNaN)
    }

    @Test func f32Copy() throws {
        let v: [Float] = [1.5, -0.0, .greatestFiniteMagnitude]
        var bytes: [UInt8] = []
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
        #expect(try decode(.f32, bytes, count: 3) == v)
    }

    @Test func halfConversionByHand() {
        #expect(Half.fromFloat(1) == 0x3C00)
        #expect(Half.fromFloat(-2) == 0xC000)
        #expect(Half.fromFloat(65504) == 0x7BFF)
        #expect(Half.fromFloat(65520) == 0x7C00)  // rounds up past max → inf
        #expect(Half.fromFloat(65519) == 0x7BFF)
        #expect(Half.fromFloat(1 + 0x1p-11) == 0x3C00)  // tie → even
        #expect(Half.fromFloat(1 + 3 * 0x1p-11) == 0x3C02)  // tie → even (up)
        #expect(Half.fromFloat(0x1p-24) == 0x0001)
        #expect(Half.fromFloat(0x1p-25) == 0x0000)  // tie → even (zero)
        #expect(Half.fromFloat(0x1.8p-25) == 0x0001)
        #expect(Half.fromFloat(-0x1p-30) == 0x8000)
        #expect(Half.fromFloat(.infinity) == 0x7C00)
        #expect(Half.fromFloat(.nan) & 0x7C00 == 0x7C00 && Half.fromFloat(.nan) & 0x03FF != 0)
        // Every non-NaN f16 survives f16 → f32 → f16 exactly.
        var bad = 0
        for h in 0...0xFFFF {
            let b = UInt16(h)
            if b & 0x7C00 == 0x7C00 && b & 0x03FF != 0 { continue }
            if Half.fromFloat(Half.toFloat(b)) != b { bad += 1 }
        }
        #expect(bad == 0)
    }

    @Test func typeNamesAndBlockSizes() {
        #expect(GGMLType.q4_1.name == "Q4_1" && "\(GGMLType.q6_K)" == "Q6_K" && GGMLType.f32.name == "F32")
        #expect(GGMLType(rawValue: 8) == .q8_0 && GGMLType(rawValue: 4) == nil)
        // ggml type_size / blck_size: Q8_0 = f16 + 32 int8; Q4_0 = f16 + 16; Q4_1 = 2 f16 + 16.
        #expect((GGMLType.q8_0.blockSize, GGMLType.q8_0.blockBytes) == (32, 34))
        #expect((GGMLType.q4_0.blockSize, GGMLType.q4_0.blockBytes) == (32, 18))
        #expect((GGMLType.q4_1.blockSize, GGMLType.q4_1.blockBytes) == (32, 20))
        #expect((GGMLType.f16.blockSize, GGMLType.f16.blockBytes) == (1, 2))
        #expect(GGMLType.allCases.filter(\.isSupportedForDequantization) == [.f32, .f16, .q4_0, .q4_1, .q8_0])
    }

    @Test func shortBuffersAndBadCountsThrow() throws {
        let bytes = [UInt8](repeating: 0, count: 33)
        expectGGUFError(["<memory>", "raw Q8_0 buffer", "has 33, expected 34"]) { _ = try decode(.q8_0, bytes) }
        expectGGUFError(["not a multiple of the Q4_1 block size 32"]) { _ = try decode(.q4_1, bytes, count: 16) }
        expectGGUFError(["unsupported tensor type Q6_K (14)"]) { _ = try decode(.q6_K, bytes, count: 256) }
    }
}

@Suite("GGUF writer → reader tensor round trip")
struct TensorRoundTripTests {
    /// Random values in [-3, 3) with a few blocks of special shape (constant, all-zero, one spike).
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var v = (0..<n).map { _ in Float.random(in: -3..<3, using: &rng) }
        for j in 0..<32 { v[j] = 0 }  // all-zero block → d = 0
        for j in 32..<64 { v[j] = 0.7 }  // constant block
        v[64] = 100  // spike
        return v
    }

    @Test(arguments: [GGMLType.f32, .f16, .q8_0, .q4_0, .q4_1])
    func roundTrip(type: GGMLType) throws {
        let dims = [96, 5]
        let x = Self.values(96 * 5, seed: 42 &+ UInt64(type.rawValue))
        var w = GGUFWriter()
        w.set("general.architecture", .string("test"))
        try w.addTensor(name: "pad", dimensions: [1], type: .f32, values: [9])  // forces a padded offset
        try w.addTensor(name: "w", dimensions: dims, type: type, values: x)
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try w.write(to: f.path)
        let g = try GGUFFile(path: f.path)
        let t = try #require(g.tensor(named: "w"))
        #expect(t.dimensions == dims && t.type == type && t.elementCount == 480)
        #expect(t.byteCount == 480 / type.blockSize * type.blockBytes)
        #expect(t.offset == 32)
        #expect(t.rowCount == 5)
        let y = try g.dequantize(t)
        #expect(y.count == x.count)
        var worst: Float = 0  // worst error / bound
        for b in stride(from: 0, to: x.count, by: 32) {
            let blk = x[b..<b + 32]
            let amax = blk.map(abs).max()!
            let lo = blk.min()!, hi = blk.max()!
            for i in b..<b + 32 {
                let err = abs(y[i] - x[i])
                let bound: Float
                switch type {
                case .f32: bound = 0
                // f16: relative rounding 2^-11 (all values are in the normal range).
                case .f16: bound = abs(x[i]) * 0x1p-11
                // Q8_0: d = amax/127; rounding q costs ≤ d/2, storing d as f16 costs ≤ 127·d·2^-11.
                case .q8_0: bound = amax / 127 * (0.5 + 127 * 0x1p-11) + amax * 1e-6 + 1e-6
                // Q4_0: d = amax/8; levels (q-8)·d for q in 0...15 reach only +7d on the side opposite
                // the max, so error ≤ d there (≤ d/2 elsewhere), plus f16 rounding of d (≤ 8·d·2^-11).
                case .q4_0: bound = amax / 8 * (1 + 8 * 0x1p-11) + amax * 1e-6 + 1e-6
                // Q4_1: d = (max-min)/15, m = min; ≤ d/2 + f16 rounding of d (15·d·2^-11) and m (|m|·2^-11).
                case .q4_1: bound = (hi - lo) / 15 * (0.5 + 15 * 0x1p-11) + abs(lo) * 0x1p-11 + amax * 1e-6 + 1e-6
                default: bound = 0
                }
                #expect(err <= bound, "\(type) element \(i): x=\(x[i]) y=\(y[i]) err=\(err) bound=\(bound)")
                if bound > 0 { worst = max(worst, err / bound) }
            }
        }
        if type == .f32 { #expect(y == x) }
        // The all-zero block decodes to exact zeros for every type.
        #expect(y[0..<32].allSatisfy { $0 == 0 })
        // into: variant agrees and checks its size.
        var z = [Float](repeating: 0, count: 480)
        try z.withUnsafeMutableBufferPointer { try g.dequantize(t, into: $0) }
        #expect(z == y)
        var small = [Float](repeating: 0, count: 479)
        expectGGUFError(["tensor 'w'", "output buffer has 479, expected 480"]) {
            try small.withUnsafeMutableBufferPointer { try g.dequantize(t, into: $0) }
        }
        #expect(try g.dequantize(g.tensor(named: "pad")!) == [9])
    }

    @Test func q8_0MatchesLlamaReferenceQuantizerOnAKnownBlock() throws {
        // x[j] = j - 16 (j = 0..<32): amax = 16, d = 16/127, q = round(x·127/16).
        // Hand values: x=-16 → -127, x=1 → round(7.9375) = 8, x=2 → round(15.875) = 16, x=15 → round(119.0625) = 119.
        let x = (0..<32).map { Float($0 - 16) }
        let bytes = try Quantize.encode(x, type: .q8_0, dimensions: [32], tensor: "k")
        #expect(bytes.count == 34)
        #expect(Int8(bitPattern: bytes[2 + 0]) == -127)
        #expect(Int8(bitPattern: bytes[2 + 17]) == 8)
        #expect(Int8(bitPattern: bytes[2 + 18]) == 16)
        #expect(Int8(bitPattern: bytes[2 + 31]) == 119)
        // d = 0.12598425 → f16 0x3008 (0.1259765625: 0x3000 = 0.125, + 8·2^-13).
        #expect(bytes[0] == 0x08 && bytes[1] == 0x30)
    }

    @Test func writerRejectsBadTensors() throws {
        var w = GGUFWriter()
        expectGGUFError(["tensor 'a'", "3 values for dimensions [2, 2] (4 elements)"]) {
            try w.addTensor(name: "a", dimensions: [2, 2], type: .f32, values: [1, 2, 3])
        }
        expectGGUFError(["tensor 'b'", "first dimension 16 is not a multiple of the Q8_0 block size 32"]) {
            try w.addTensor(name: "b", dimensions: [16], type: .q8_0, values: [Float](repeating: 0, count: 16))
        }
        expectGGUFError(["tensor 'c'", "unsupported tensor type Q6_K"]) {
            try w.addTensor(name: "c", dimensions: [256], type: .q6_K, values: [Float](repeating: 0, count: 256))
        }
        expectGGUFError(["tensor 'n'", "not finite"]) {
            try w.addTensor(name: "n", dimensions: [1], type: .f32, values: [.nan])
        }
        try w.addTensor(name: "d", dimensions: [1], type: .f32, values: [1])
        expectGGUFError(["tensor 'd'", "duplicate tensor name"]) {
            try w.addTensor(name: "d", dimensions: [1], type: .f32, values: [1])
        }
    }
}
