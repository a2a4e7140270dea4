import DistributedAttention
import Foundation
import Kernels
import Llama

/// Star Attention in one process, written for the tests from the paper's description (Acharya, Jia,
/// Ginsburg, "Star Attention", ICML 2025, arXiv 2411.17116, §2; `Docs/StarAttention.md`) and built
/// only from the model's layer API (`embed`, `ropeTable`, `attentionInputs`, `finishLayer`,
/// `logits`). It uses nothing of the code under test: no `StarPlan` geometry, no host programs, no
/// `HostTensors`, no per-host partials and no log-sum-exp merge — phase 2 is one softmax over the
/// concatenated KV, which is what the distributed merge must equal.
///
/// - Phase 1: the context is cut into blocks of `blockSize` tokens (the last may be shorter). Block 0
///   is encoded alone with causal attention. Block `i > 0` is encoded as `[anchor ; block i]` in one
///   causal pass (key j visible to query i iff `pos[j] ≤ pos[i]`); the anchor is context tokens
///   `0..<a` at positions `0..<a` (`.firstBlock`) or the last `a` tokens of block `i − 1` at their own
///   positions (`.previousBlock`); the block keeps its global positions. Only the block's KV is kept.
/// - Phase 2: the query tokens at positions `L..<L+q`, then each greedy token at `L+q+n`, attend to
///   every block's kept KV (all of it: every context position is below `L`) and causally to the
///   query/generated KV, which is appended.
///
/// ``Fault`` injects the mistakes the comparison must catch, to show the tolerance is tight enough.
struct SingleProcessStar {
    /// How a phase-1 `[anchor ; block]` pass attends.
    enum Phase1Attention: Sendable {
        /// ``naiveAttention(q:queryPositions:k:v:keyPositions:)``: Double, scalar, the full score row.
        case naive
        /// `Kernels.FlashAttention` in one call over the whole `[anchor ; block]` (the code under test
        /// stores anchor and block apart and merges two partials). For the real model, where the naive
        /// loop over 30 layers of 512-token causal passes (~15 G multiply-adds) would dominate the test.
        case flash
    }

    /// Deliberate deviations from the paper, each a plausible bug of a distributed implementation.
    enum Fault: Sendable, Hashable, CustomStringConvertible {
        case none
        /// The anchor at the wrong positions: a `.firstBlock` anchor right before its block
        /// (`i·b − a..<i·b`), a `.previousBlock` anchor at `0..<a`.
        case misplacedAnchor
        /// The anchor's KV is kept (and seen in phase 2) instead of discarded.
        case anchorKVKept
        /// Every block encoded alone (the anchor forgotten).
        case noAnchor
        /// Phase 2 misses one block's KV (a partial lost in the merge).
        case phase2Misses(block: Int)
        /// Phase 2 averages per-block (and appended-KV) outputs with equal weights: a merge that
        /// ignores the log-sum-exp.
        case mergeIgnoresLSE

        var description: String {
            switch self {
            case .none: return "none"
            case .misplacedAnchor: return "misplaced anchor"
            case .anchorKVKept: return "anchor KV kept"
            case .noAnchor: return "no anchor"
            case .phase2Misses(let b): return "phase 2 misses block \(b)"
            case .mergeIgnoresLSE: return "merge ignores lse"
            }
        }
    }

    /// Logits `[vocab]` before each greedy token, and the tokens (without a stop token).
    struct Output {
        var logits: [[Float]]
        var tokens: [Int32]
    }

    /// K and V `[n, kvHeads·headDim]` and the positions of `n` tokens at one layer.
    struct KV {
        var k: [Float] = []
        var v: [Float] = []
        var positions: [Int32] = []

        mutating func append(_ qkv: LayerQKV, rows: Range<Int>, width: Int) {
            k += qkv.k[(rows.lowerBound * width)..<(rows.upperBound * width)]
            v += qkv.v[(rows.lowerBound * width)..<(rows.upperBound * width)]
            positions += qkv.positions[rows]
        }

        static func + (a: KV, b: KV) -> KV {
            KV(k: a.k + b.k, v: a.v + b.v, positions: a.positions + b.positions)
        }
    }

    let model: LlamaModel
    let blockSize: Int
    let anchorSize: Int
    let anchorSource: StarPlan.AnchorSource
    var phase1Attention = Phase1Attention.naive
    var fault = Fault.none

    private var layers: Int { model.config.layerCount }
    private var kvWidth: Int { model.config.kvHeadCount * model.config.headDim }

    /// Encodes `context`, then `query`, then greedily generates until `steps` logits rows exist or a
    /// stop token is chosen (its logits are included, the token is not).
    func generate(context: [Int32], query: [Int32], steps: Int, stopTokens: Set<Int32>) throws -> Output {
        let blocks = try encodeContext(context)
        var appended = [KV](repeating: KV(), count: layers)
        var out = Output(logits: [], tokens: [])
        var segment = query
        var first = context.count
        while true {
            let positions = (first..<(first + segment.count)).map { Int32($0) }
            var hidden = try model.embed(segment)
            let rope = model.ropeTable(positions: positions)
            for layer in 0..<layers {
                let qkv = model.attentionInputs(layer: layer, hidden: hidden, rope: rope)
                appended[layer].append(qkv, rows: 0..<segment.count, width: kvWidth)
                var sources = blocks.indices.map { blocks[$0][layer] }
                if case .phase2Misses(let b) = fault { sources.remove(at: b) }
                sources.append(appended[layer])
                let attention: [Float]
                if fault == .mergeIgnoresLSE {
                    let parts = sources.map { naiveAttention(q: qkv.q, queryPositions: positions, kv: $0) }
                    attention = parts[0].indices.map { i in parts.reduce(0) { $0 + $1[i] } / Float(parts.count) }
                } else {
                    attention = naiveAttention(q: qkv.q, queryPositions: positions, kv: sources.reduce(KV(), +))
                }
                model.finishLayer(layer: layer, hidden: &hidden, attention: attention)
            }
            let logits = model.logits(hidden: hidden, row: segment.count - 1)
            out.logits.append(logits)
            let token = LlamaModel.argmax(logits)
            if stopTokens.contains(token) { break }
            out.tokens.append(token)
            if out.logits.count == steps { break }
            first += segment.count
            segment = [token]
        }
        return out
    }

    /// Phase 1: the kept KV of every block, `[block][layer]`.
    func encodeContext(_ context: [Int32]) throws -> [[KV]] {
        let length = context.count
        var kept: [[KV]] = []
        for start in stride(from: 0, to: length, by: blockSize) {
            let block = start..<min(start + blockSize, length)
            var anchor: (tokens: Range<Int>, firstPosition: Int)?
            if start > 0 && anchorSize > 0 && fault != .noAnchor {
                switch anchorSource {
                case .firstBlock:
                    anchor = (0..<anchorSize, fault == .misplacedAnchor ? start - anchorSize : 0)
                case .previousBlock:
                    let tokens = (start - anchorSize)..<start
                    anchor = (tokens, fault == .misplacedAnchor ? 0 : tokens.lowerBound)
                }
            }
            var ids = Array(context[block])
            var positions = block.map { Int32($0) }
            if let anchor {
                ids = Array(context[anchor.tokens]) + ids
                positions = (0..<anchor.tokens.count).map { Int32(anchor.firstPosition + $0) } + positions
            }
            let anchorRows = anchor?.tokens.count ?? 0
            let keepFrom = fault == .anchorKVKept ? 0 : anchorRows
            var hidden = try model.embed(ids)
            let rope = model.ropeTable(positions: positions)
            var kv = [KV](repeating: KV(), count: layers)
            for layer in 0..<layers {
                let qkv = model.attentionInputs(layer: layer, hidden: hidden, rope: rope)
                let own = KV(k: qkv.k, v: qkv.v, positions: positions)
                let attention: [Float]
                switch phase1Attention {
                case .naive:
                    attention = naiveAttention(q: qkv.q, queryPositions: positions, kv: own)
                case .flash:
                    attention = FlashAttention.attend(
                        geometry: model.attentionGeometry, queries: qkv.q, queryPositions: positions,
                        keys: own.k, values: own.v, keyPositions: positions
                    ).output
                }
                kv[layer].append(qkv, rows: keepFrom..<ids.count, width: kvWidth)
                model.finishLayer(layer: layer, hidden: &hidden, attention: attention)
            }
            kept.append(kv)
        }
        return kept
    }

    /// `softmax(q·kᵀ/√D) · v` per query row and head over the keys with `position ≤` the query's,
    /// grouped-query (head `h` reads KV head `h / (H/KV)`), accumulated in Double.
    ///
    /// - Returns: `[queries, heads·headDim]`.
    /// - Complexity: O(queries · heads · keys · headDim).
    func naiveAttention(q: [Float], queryPositions: [Int32], kv: KV) -> [Float] {
        let heads = model.config.headCount, kvHeads = model.config.kvHeadCount, d = model.config.headDim
        let group = heads / kvHeads, nq = queryPositions.count, nk = kv.positions.count
        let scale = 1 / Double(d).squareRoot()
        var out = [Float](repeating: 0, count: nq * heads * d)
        var scores = [Double](repeating: 0, count: nk)
        var acc = [Double](repeating: 0, count: d)
        q.withUnsafeBufferPointer { q in
            kv.k.withUnsafeBufferPointer { k in
                kv.v.withUnsafeBufferPointer { v in
                    for i in 0..<nq {
                        for h in 0..<heads {
                            let qRow = q.baseAddress! + (i * heads + h) * d
                            let kvHead = h / group
                            var m = -Double.infinity
                            for j in 0..<nk where kv.positions[j] <= queryPositions[i] {
                                let kRow = k.baseAddress! + (j * kvHeads + kvHead) * d
                                var s = 0.0
                                for x in 0..<d { s += Double(qRow[x]) * Double(kRow[x]) }
                                scores[j] = s * scale
                                m = max(m, scores[j])
                            }
                            precondition(m > -.infinity, "naiveAttention: query \(i) sees no key")
                            var z = 0.0
                            for x in 0..<d { acc[x] = 0 }
                            for j in 0..<nk where kv.positions[j] <= queryPositions[i] {
                                let e = exp(scores[j] - m)
                                z += e
                                let vRow = v.baseAddress! + (j * kvHeads + kvHead) * d
                                for x in 0..<d { acc[x] += e * Double(vRow[x]) }
                            }
                            for x in 0..<d { out[(i * heads + h) * d + x] = Float(acc[x] / z) }
                        }
                    }
                }
            }
        }
        return out
    }
}
