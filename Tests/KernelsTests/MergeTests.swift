import Foundation
import Kernels
import Testing
import TestSupport

private let smol = AttentionGeometry(heads: 9, kvHeads: 3, headDim: 64)

/// Attention over concatenated KV must equal the LSE merge of attention over any split of the KV.
@Suite("AttentionPartial.merge")
struct MergeTests {
    /// Splits `nk` causal keys into `shards` contiguous shards of unequal sizes, attends the same
    /// queries to each, merges, and compares to attention over all keys (and to the naive reference).
    @Test("merge of 2, 3 and 8 KV shards equals attention over all keys", arguments: [2, 3, 8])
    func shards(count: Int) {
        var rng = SeededGenerator(seed: 100 + UInt64(count))
        let nk = 240
        let nq = 150
        // Queries are the last 150 positions, so the last shards are invisible to the earliest queries.
        let kp = (0..<nk).map { Int32($0) }
        let qp = (nk - nq..<nk).map { Int32($0) }
        let q = rng.normal(nq * smol.queryWidth)
        let k = rng.normal(nk * smol.kvWidth)
        let v = rng.normal(nk * smol.kvWidth)
        // Unequal cut points.
        var cuts = [0]
        for s in 1..<count { cuts.append(s * nk / count + (s % 2 == 0 ? 7 : -5)) }
        cuts.append(nk)
        var parts: [AttentionPartial] = []
        for s in 0..<count {
            let r = cuts[s]..<cuts[s + 1]
            let w = smol.kvWidth
            parts.append(FlashAttention.attend(
                geometry: smol, queries: q, queryPositions: qp,
                keys: Array(k[r.lowerBound * w ..< r.upperBound * w]),
                values: Array(v[r.lowerBound * w ..< r.upperBound * w]),
                keyPositions: Array(kp[r])))
        }
        // The last shard must really be invisible to the first query for this test to mean something.
        #expect(parts[count - 1].lse[0] == -.infinity)
        let merged = AttentionPartial.merge(parts)
        let whole = FlashAttention.attend(geometry: smol, queries: q, queryPositions: qp, keys: k, values: v, keyPositions: kp)
        #expect(maxAbsDifference(merged.output, whole.output) <= 1e-5)
        #expect(maxAbsDifference(merged.lse, whole.lse) <= 1e-5)
        let reference = referenceAttention(geometry: smol, queries: q, queryPositions: qp, keys: k, values: v, keyPositions: kp)
        #expect(maxAbsDifference(merged.output, reference.output) <= 1e-4)
        #expect(maxAbsDifference(merged.lse, reference.lse) <= 1e-4)
        // Merge order does not matter beyond rounding.
        let reversed = AttentionPartial.merge(parts.reversed())
        #expect(maxAbsDifference(reversed.output, merged.output) <= 1e-6)
    }

    @Test("empty partial is the identity; all -inf parts stay -inf with output 0")
    func identityAndEmpty() {
        var rng = SeededGenerator(seed: 7)
        let g = AttentionGeometry(heads: 2, kvHeads: 1, headDim: 4)
        let p = AttentionPartial(output: rng.normal(3 * 8), lse: rng.normal(3 * 2), queries: 3, geometry: g)
        let e = AttentionPartial.empty(queries: 3, geometry: g)
        #expect(AttentionPartial.merge([e, p, e]) == p)
        #expect(AttentionPartial.merge([e, e]) == e)
    }

    @Test("hand-computed two-part merge with extreme lse values")
    func handComputed() {
        let g = AttentionGeometry(heads: 1, kvHeads: 1, headDim: 2)
        // Row 0: equal lse → average, lse + ln 2. Row 1: lse 1000 vs -1000 → first part only (no overflow).
        let a = AttentionPartial(output: [1, 2, 5, 5], lse: [3, 1000], queries: 2, geometry: g)
        let b = AttentionPartial(output: [3, 4, 9, 9], lse: [3, -1000], queries: 2, geometry: g)
        let m = AttentionPartial.merge([a, b])
        #expect(abs(m.lse[0] - (3 + Float(log(2.0)))) < 1e-6)
        #expect(m.output[0] == 2 && m.output[1] == 3)
        #expect(m.lse[1] == 1000)
        #expect(m.output[2] == 5 && m.output[3] == 5)
        // Unequal weights: lse 0 and ln 3 → weights 1/4, 3/4.
        let c = AttentionPartial(output: [4, 0], lse: [0], queries: 1, geometry: g)
        let d = AttentionPartial(output: [0, 4], lse: [Float(log(3.0))], queries: 1, geometry: g)
        let cd = AttentionPartial.merge([c, d])
        #expect(abs(cd.output[0] - 1) < 1e-6 && abs(cd.output[1] - 3) < 1e-6)
        #expect(abs(cd.lse[0] - Float(log(4.0))) < 1e-6)
    }
}
