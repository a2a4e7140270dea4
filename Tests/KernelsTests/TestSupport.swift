import Foundation
import Kernels
import TestSupport

/// The tests' seeded generator (SplitMix64), so every test input is reproducible from its seed.
typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    /// Approximately standard normal (sum of uniforms), times `scale`.
    mutating func normal(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in
            var s: Float = 0
            for _ in 0..<4 { s += Float.random(in: -1...1, using: &self) }
            return s * 0.866 * scale
        }
    }
}

/// Naive double-precision attention: explicit softmax over the visible keys of each row and head.
/// Returns output [nq, heads*headDim] and lse [nq, heads] (natural log; -inf and 0 output when a row
/// sees nothing).
func referenceAttention(
    geometry g: AttentionGeometry, queries q: [Float], queryPositions qp: [Int32],
    keys k: [Float], values v: [Float], keyPositions kp: [Int32]
) -> (output: [Double], lse: [Double]) {
    let nq = qp.count
    let nk = kp.count
    let d = g.headDim
    var out = [Double](repeating: 0, count: nq * g.queryWidth)
    var lse = [Double](repeating: -.infinity, count: nq * g.heads)
    var logits = [Double](repeating: 0, count: nk)
    for i in 0..<nq {
        for h in 0..<g.heads {
            let kvh = h / g.groupSize
            var visible: [Int] = []
            for j in 0..<nk where kp[j] <= qp[i] {
                var dot = 0.0
                for c in 0..<d { dot += Double(q[i * g.queryWidth + h * d + c]) * Double(k[j * g.kvWidth + kvh * d + c]) }
                logits[j] = dot * Double(g.scale)
                visible.append(j)
            }
            if visible.isEmpty { continue }
            let m = visible.map { logits[$0] }.max()!
            var sum = 0.0
            for j in visible { sum += exp(logits[j] - m) }
            lse[i * g.heads + h] = m + log(sum)
            for j in visible {
                let p = exp(logits[j] - m) / sum
                for c in 0..<d { out[i * g.queryWidth + h * d + c] += p * Double(v[j * g.kvWidth + kvh * d + c]) }
            }
        }
    }
    return (out, lse)
}
