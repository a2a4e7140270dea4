import Foundation
import GGUF
import Kernels
import Llama
import Testing
import TestSupport

/// `QuantizedMatVec` against dequantize-then-`sgemv` (GGUF's `Dequantize` + OpenBLAS), and the
/// model's quantized decode path against its f32 path.
@Suite struct QuantizedDecodeTests {
    /// Random blocks of `format`: f16 scales of both signs spanning several binades, random codes.
    static func randomBlocks(_ format: QuantizedFormat, rows: Int, columns: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let blocks = rows * columns / 32
        var bytes: [UInt8] = []
        bytes.reserveCapacity(blocks * format.blockBytes)
        func half(_ f: Float) {
            let h = Half.fromFloat(f)
            bytes.append(UInt8(h & 0xFF))
            bytes.append(UInt8(h >> 8))
        }
        func scale() -> Float {
            let magnitude = Float(Double(rng.next() % 1000 + 1) / 1000 * pow(2, Double(Int(rng.next() % 8)) - 10))
            return rng.next() % 2 == 0 ? magnitude : -magnitude
        }
        for _ in 0..<blocks {
            half(scale())
            if format == .q4_1 { half(scale() * 8) }
            let codes = format == .q8_0 ? 32 : 16
            for _ in 0..<codes { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
        }
        return bytes
    }

    static func ggmlType(_ f: QuantizedFormat) -> GGMLType {
        switch f {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        }
    }

    /// Checks `multiply` (fresh and accumulating, 1 and 2 workers, as one matrix and as two stacked
    /// halves) against dequantize-then-sgemv: |Δy[r]| ≤ 1e-5 · Σ_c |W[r,c]·x[c]| + 1e-30.
    @Test(arguments: QuantizedFormat.allCases)
    func matchesDequantizeThenSGEMV(format: QuantizedFormat) throws {
        // 160 rows × 1536 columns is above the parallel threshold, so 2 workers really split.
        let rows = 160, columns = 1536
        let raw = Self.randomBlocks(format, rows: rows, columns: columns, seed: 17)
        var rng = SplitMix64(seed: 5)
        let x = (0..<columns).map { _ in Float(Int(rng.next() % 2001) - 1000) / 500 }
        let bias = (0..<rows).map { _ in Float(Int(rng.next() % 2001) - 1000) / 100 }
        var w = [Float](repeating: 0, count: rows * columns)
        try raw.withUnsafeBytes { r in
            try w.withUnsafeMutableBufferPointer {
                try Dequantize.rows(type: Self.ggmlType(format), raw: r, count: rows * columns, into: $0)
            }
        }
        var reference = [Float](repeating: 0, count: rows)
        BLAS.sgemv(trans: false, m: rows, n: columns, alpha: 1, a: w, lda: columns, x: x, beta: 0, y: &reference)
        var bound = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            for c in 0..<columns { bound[r] += abs(Double(w[r * columns + c]) * Double(x[c])) }
        }
        #expect(bound.reduce(0, +) > 1, "weights are not all zero")

        raw.withUnsafeBytes { r in
            let whole = QuantizedMatrix(format: format, rows: rows, columns: columns, bytes: r)
            let half = rows / 2
            let top = QuantizedMatrix(format: format, rows: half, columns: columns,
                                      bytes: UnsafeRawBufferPointer(rebasing: r[0..<(half * whole.rowBytes)]))
            let bottom = QuantizedMatrix(format: format, rows: rows - half, columns: columns,
                                         bytes: UnsafeRawBufferPointer(rebasing: r[(half * whole.rowBytes)...]))
            #expect(whole.byteCount == raw.count)
            for (name, stack) in [("whole", [whole]), ("stacked", [top, bottom])] {
                for workers in [1, 2] {
                    var y = [Float](repeating: .nan, count: rows)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            QuantizedMatVec.multiply(stack, x: xp.baseAddress!, into: yp.baseAddress!,
                                                     accumulate: false, workers: workers)
                        }
                    }
                    var acc = bias
                    x.withUnsafeBufferPointer { xp in
                        acc.withUnsafeMutableBufferPointer { yp in
                            QuantizedMatVec.multiply(stack, x: xp.baseAddress!, into: yp.baseAddress!,
                                                     accumulate: true, workers: workers)
                        }
                    }
                    var worst = 0.0, worstAcc = 0.0
                    for i in 0..<rows {
                        let tolerance = 1e-5 * bound[i] + 1e-30
                        worst = max(worst, abs(Double(y[i]) - Double(reference[i])) / tolerance)
                        let accTolerance = tolerance + 1e-6 * abs(Double(bias[i]))
                        worstAcc = max(worstAcc, abs(Double(acc[i]) - Double(reference[i] + bias[i])) / accTolerance)
                    }
                    #expect(worst <= 1, "\(format) \(name) workers \(workers): max |Δy| / tolerance = \(worst)")
                    #expect(worstAcc <= 1, "\(format) \(name) workers \(workers) accumulate: max ratio = \(worstAcc)")
                }
            }
        }
    }

    /// Decode logits (single-token steps after a 5-token prompt) with the quantized path equal the
    /// f32 path of the same file: max |Δlogit| ≤ 1e-3, and greedy tokens agree.
    @Test(arguments: [GGMLType.q4_1, .q8_0, .q4_0])
    func decodeMatchesF32Path(type: GGMLType) throws {
        let path = try Support.writeTiny(seed: 23, type: type)
        let quantized = try LlamaModel(path: path)
        let f32 = quantized.with(decodePath: .f32)
        #expect(quantized.decodePath == .quantized && quantized.decodesQuantized)
        #expect(f32.decodePath == .f32 && !f32.decodesQuantized)
        #expect(quantized.quantizedWeightBytes > 0 && quantized.quantizedWeightBytes < quantized.weightBytes / 3)
        let c = quantized.config
        let prompt = Support.randomTokens(5, vocabulary: c.vocabularySize, seed: 9)
        var hq = GlobalAttention(config: c), hf = GlobalAttention(config: c)
        let positions = (0..<Int32(prompt.count)).map { $0 }
        var lq = try quantized.forward(tokens: prompt, positions: positions, hook: &hq)
        var lf = try f32.forward(tokens: prompt, positions: positions, hook: &hf)
        var worst = maxAbsDifference(lq, lf)
        var next = Int32(prompt.count)
        for _ in 0..<12 {
            let tq = LlamaModel.argmax(lq), tf = LlamaModel.argmax(lf)
            #expect(tq == tf, "\(type): greedy tokens differ at position \(next)")
            lq = try quantized.forward(tokens: [tq], positions: [next], hook: &hq)
            lf = try f32.forward(tokens: [tq], positions: [next], hook: &hf)
            worst = max(worst, maxAbsDifference(lq, lf))
            next += 1
        }
        #expect(worst <= 1e-3, "\(type): quantized vs f32 decode max |Δlogit| = \(worst)")
        let spread = lq.max()! - lq.min()!
        #expect(spread > 1, "logit spread \(spread)")
    }

    /// An F32 file has no quantized form: the default path silently uses f32 and gives the same logits.
    @Test func f32FileFallsBackToSGEMV() throws {
        let model = try LlamaModel(path: Support.writeTiny(seed: 4, type: .f32))
        #expect(!model.decodesQuantized && model.quantizedWeightBytes == 0)
        var a = GlobalAttention(config: model.config), b = GlobalAttention(config: model.config)
        let x = try model.forward(tokens: [7], positions: [0], hook: &a)
        let y = try model.with(decodePath: .f32).forward(tokens: [7], positions: [0], hook: &b)
        #expect(x == y)
    }

    /// The real SmolLM2 file: 32 greedy tokens identical with the quantized and the f32 decode path.
    @Test(.enabled(if: RealModel.shouldRun))
    func realModelGreedyTokensMatchF32Path() throws {
        let (model, tokenizer) = try RealModel.get()
        #expect(model.decodesQuantized)
        let prompt = tokenizer.encode("The capital of France is")
        var hq = GlobalAttention(config: model.config), hf = GlobalAttention(config: model.config)
        let q = try model.generate(prompt: prompt, maxTokens: 32, stopAt: [], hook: &hq)
        let f = try model.with(decodePath: .f32).generate(prompt: prompt, maxTokens: 32, stopAt: [], hook: &hf)
        #expect(q.count == 32)
        #expect(q == f, "quantized \(q) vs f32 \(f)")
    }
}
