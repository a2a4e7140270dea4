import Foundation
import Kernels
import Testing
import TestSupport

@Suite("RMSNorm, RoPE, SiLU·up, residual, fast exp")
struct ElementwiseTests {
    @Test("RMSNorm matches a Double reference (out of place and in place)")
    func rmsNorm() {
        var rng = SeededGenerator(seed: 21)
        let rows = 5
        let cols = 77
        let x = rng.normal(rows * cols, scale: 3)
        let w = rng.normal(cols)
        var want = [Double](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            var ss = 0.0
            for c in 0..<cols { ss += Double(x[r * cols + c]) * Double(x[r * cols + c]) }
            let inv = 1 / (ss / Double(cols) + 1e-5).squareRoot()
            for c in 0..<cols { want[r * cols + c] = Double(x[r * cols + c]) * inv * Double(w[c]) }
        }
        var out = [Float](repeating: 0, count: rows * cols)
        x.withUnsafeBufferPointer { xb in
            w.withUnsafeBufferPointer { wb in
                out.withUnsafeMutableBufferPointer { ob in
                    RMSNorm.apply(x: xb.baseAddress!, rows: rows, cols: cols, weight: wb.baseAddress!, eps: 1e-5, out: ob.baseAddress!)
                }
            }
        }
        #expect(maxAbsDifference(out, want) <= 1e-5)
        var inPlace = x
        inPlace.withUnsafeMutableBufferPointer { b in
            w.withUnsafeBufferPointer { wb in
                RMSNorm.apply(x: b.baseAddress!, rows: rows, cols: cols, weight: wb.baseAddress!, eps: 1e-5, out: b.baseAddress!)
            }
        }
        #expect(inPlace == out)
    }

    @Test("RoPE rotates adjacent pairs by position·base^(-2i/d), including position 1,000,000")
    func rope() {
        var rng = SeededGenerator(seed: 22)
        let heads = 3
        let d = 64
        let positions: [Int32] = [0, 1, 7, 4095, 1_000_000]
        let x = rng.normal(positions.count * heads * d)
        var y = x
        y.withUnsafeMutableBufferPointer { b in
            RoPE.apply(to: b.baseAddress!, heads: heads, headDim: d, positions: positions, base: 100_000)
        }
        var worst = 0.0
        for (r, p) in positions.enumerated() {
            for h in 0..<heads {
                for i in 0..<(d / 2) {
                    let theta = pow(100_000.0, -2 * Double(i) / Double(d))
                    let angle = Double(p) * theta
                    let o = r * heads * d + h * d + 2 * i
                    let a = Double(x[o])
                    let b = Double(x[o + 1])
                    worst = max(worst, abs(Double(y[o]) - (a * cos(angle) - b * sin(angle))))
                    worst = max(worst, abs(Double(y[o + 1]) - (a * sin(angle) + b * cos(angle))))
                }
            }
        }
        #expect(worst <= 2e-6)
        // Position 0 is the identity.
        #expect(Array(y.prefix(heads * d)) == Array(x.prefix(heads * d)))
    }

    @Test("RoPE makes q·k depend only on the position difference")
    func ropeRelative() {
        var rng = SeededGenerator(seed: 23)
        let d = 64
        let q = rng.normal(d)
        let k = rng.normal(d)
        func dot(_ pq: Int32, _ pk: Int32) -> Double {
            var qq = q
            var kk = k
            qq.withUnsafeMutableBufferPointer { RoPE.apply(to: $0.baseAddress!, heads: 1, headDim: d, positions: [pq], base: 10_000) }
            kk.withUnsafeMutableBufferPointer { RoPE.apply(to: $0.baseAddress!, heads: 1, headDim: d, positions: [pk], base: 10_000) }
            return zip(qq, kk).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        #expect(abs(dot(10, 3) - dot(1010, 1003)) < 1e-4)
        #expect(abs(dot(10, 3) - dot(10, 4)) > 1e-3)
    }

    @Test("siluMul and residual add match Double references")
    func siluAndResidual() {
        var rng = SeededGenerator(seed: 24)
        let n = 1539
        var gate = rng.normal(n, scale: 4)
        gate[0] = -100
        gate[1] = 100
        gate[2] = 0
        let up = rng.normal(n)
        let want = (0..<n).map { i -> Double in
            let g = Double(gate[i])
            return g / (1 + exp(-g)) * Double(up[i])
        }
        var got = gate
        got.withUnsafeMutableBufferPointer { gb in
            up.withUnsafeBufferPointer { ub in Activation.siluMul(gate: gb.baseAddress!, up: ub.baseAddress!, count: n) }
        }
        var worstRel = 0.0
        for i in 0..<n { worstRel = max(worstRel, abs(Double(got[i]) - want[i]) / max(1e-3, abs(want[i]))) }
        #expect(worstRel <= 2e-6)
        var x = gate
        x.withUnsafeMutableBufferPointer { xb in
            up.withUnsafeBufferPointer { ub in Residual.add(ub.baseAddress!, into: xb.baseAddress!, count: n) }
        }
        #expect(x == zip(gate, up).map { $0 + $1 })
    }

    @Test("softmax exp2 for x ≤ 0: relative error ≤ 5e-7 on [-126, 0] (dense near 0), exact 0 for -inf and below -126.5")
    func fastExp2NonPositive() {
        var worst = 0.0
        var u: Float = -126
        while u <= 0 {
            // Dense sampling of [-2, 0] (where softmax weights matter), coarser below.
            let lanes = [u, u - 0.001, u - 0.25, u - 0.3333, u - 0.5, u - 0.5001, u - 0.75, u - 0.999].map { Swift.max($0, -126) }
            let v = FastMath.exp2NonPositive(SIMD8<Float>(lanes))
            for lane in 0..<8 {
                let want = pow(2.0, Double(lanes[lane]))
                worst = max(worst, abs(Double(v[lane]) - want) / want)
            }
            u += u > -2 ? 0.000731 : 0.0517
        }
        #expect(worst <= 5e-7, "worst relative error \(worst)")
        let special = FastMath.exp2NonPositive(SIMD8<Float>(-.infinity, -1e30, -127, -200, 0, -1, -0.5, -126))
        #expect(special[0] == 0 && special[1] == 0 && special[2] == 0 && special[3] == 0)
        #expect(abs(Double(special[4]) - 1) <= 2e-7 && abs(Double(special[5]) - 0.5) <= 1e-7)
        #expect(abs(Double(special[6]) - 0.5.squareRoot()) <= 3e-7)
        #expect(special[7] > 0 && abs(Double(special[7]) / pow(2.0, -126) - 1) <= 5e-7)
    }

    @Test("fast exp: relative error ≤ 1e-6 on [-87, 88], exact 0 for -inf and very negative inputs; exp2 ≤ 1e-6 on [-126, 127]")
    func fastExp() {
        var xs: [Float] = []
        var t: Float = -87
        while t <= 88 {
            xs.append(t)
            t += 0.01237
        }
        var ys = xs
        ys.withUnsafeMutableBufferPointer { FastMath.exp($0.baseAddress!, count: $0.count) }
        var worst = 0.0
        for (x, y) in zip(xs, ys) {
            let want = exp(Double(x))
            worst = max(worst, abs(Double(y) - want) / want)
        }
        #expect(worst <= 1e-6, "worst relative error \(worst)")
        var extremes: [Float] = [-.infinity, -1e30, -1000, -100, 0, 1, -.greatestFiniteMagnitude, -89.5, 3, 4, 5, 6, 7, 8]
        let input = extremes
        extremes.withUnsafeMutableBufferPointer { FastMath.exp($0.baseAddress!, count: $0.count) }
        #expect(extremes[0] == 0 && extremes[1] == 0 && extremes[2] == 0 && extremes[6] == 0 && extremes[7] == 0)
        #expect(extremes[3] < 1e-38)
        #expect(extremes[4] == 1)
        #expect(abs(Double(extremes[5]) - M_E) / M_E < 1e-6)
        // The 8-lane path and the scalar tail agree.
        for (x, y) in zip(input.suffix(6), extremes.suffix(6)) {
            #expect(abs(Double(y) - exp(Double(x))) / exp(Double(x)) < 1e-6)
        }
        // exp2 (the softmax's function) over its whole normal range.
        var worst2 = 0.0
        var u: Float = -126
        while u <= 126 {
            let v = FastMath.exp2(SIMD8<Float>(u, u + 0.001, u + 0.25, u + 0.3333, u + 0.5, u + 0.5001, u + 0.75, u + 0.999))
            for lane in 0..<8 {
                let x = [u, u + 0.001, u + 0.25, u + 0.3333, u + 0.5, u + 0.5001, u + 0.75, u + 0.999][lane]
                let want = pow(2.0, Double(x))
                worst2 = max(worst2, abs(Double(v[lane]) - want) / want)
            }
            u += 0.0917
        }
        #expect(worst2 <= 1e-6, "exp2 worst relative error \(worst2)")
        #expect(FastMath.exp2(SIMD8<Float>(-.infinity, -126.9, -127.5, -200, 0, 1, 10, -1)) ==
            SIMD8<Float>(0, 0, 0, 0, 1, 2, 1024, 0.5))
    }
}
