import Foundation
import GGUF

/// An independent, deliberately plain Llama forward pass: Double accumulation, scalar loops, the
/// full attention matrix, weights read straight from the GGUF (no fusing, no BLAS, no Llama module
/// code). Only for tiny models.
///
/// It follows the HF/llama.cpp Llama block: RMSNorm → q,k,v → RoPE on adjacent pairs
/// `(2i, 2i+1)` with `θ_i = base^(−2i/D)` → causal softmax(q·k/√D) with GQA (query head h uses KV
/// head h / (H/KV)); key j visible to query i iff pos[j] ≤ pos[i] → o-proj + residual → RMSNorm →
/// down(silu(gate)·up) + residual; final RMSNorm and head (output.weight, or token_embd if absent).
struct NaiveLlama {
    let hidden, ffn, layers, heads, kvHeads, headDim, vocab: Int
    let base, eps: Double
    let tensors: [String: [Double]]

    init(path: String) throws {
        let f = try GGUFFile(path: path)
        hidden = try f.int("llama.embedding_length")
        ffn = try f.int("llama.feed_forward_length")
        layers = try f.int("llama.block_count")
        heads = try f.int("llama.attention.head_count")
        kvHeads = try f.int("llama.attention.head_count_kv")
        headDim = try f.int("llama.rope.dimension_count")
        base = try f.double("llama.rope.freq_base")
        eps = try f.double("llama.attention.layer_norm_rms_epsilon")
        var t: [String: [Double]] = [:]
        for info in f.tensors { t[info.name] = try f.dequantize(info).map(Double.init) }
        tensors = t
        vocab = t["token_embd.weight"]!.count / hidden
    }

    /// `W[out][in] · x` for a GGUF matrix with dims `[in, out]`.
    func matvec(_ name: String, _ x: [Double]) -> [Double] {
        let w = tensors[name]!
        let inDim = x.count, outDim = w.count / inDim
        var y = [Double](repeating: 0, count: outDim)
        for o in 0..<outDim {
            var s = 0.0
            for i in 0..<inDim { s += w[o * inDim + i] * x[i] }
            y[o] = s
        }
        return y
    }

    func rmsNorm(_ x: [Double], _ name: String) -> [Double] {
        let g = tensors[name]!
        let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let inv = 1 / (ms + eps).squareRoot()
        return x.indices.map { x[$0] * inv * g[$0] }
    }

    func rope(_ x: [Double], heads n: Int, position: Int32) -> [Double] {
        var y = x
        for h in 0..<n {
            for i in 0..<(headDim / 2) {
                let theta = pow(base, -2 * Double(i) / Double(headDim))
                let angle = Double(position) * theta
                let a = x[h * headDim + 2 * i], b = x[h * headDim + 2 * i + 1]
                y[h * headDim + 2 * i] = a * cos(angle) - b * sin(angle)
                y[h * headDim + 2 * i + 1] = a * sin(angle) + b * cos(angle)
            }
        }
        return y
    }

    /// Logits `[tokens.count][vocab]` for every position.
    func forward(tokens: [Int32], positions: [Int32]) -> [[Double]] {
        let n = tokens.count
        let emb = tensors["token_embd.weight"]!
        var x: [[Double]] = tokens.map { t in Array(emb[(Int(t) * hidden)..<(Int(t) * hidden + hidden)]) }
        for l in 0..<layers {
            let p = "blk.\(l)."
            var q: [[Double]] = [], k: [[Double]] = [], v: [[Double]] = []
            for r in 0..<n {
                let xn = rmsNorm(x[r], p + "attn_norm.weight")
                q.append(rope(matvec(p + "attn_q.weight", xn), heads: heads, position: positions[r]))
                k.append(rope(matvec(p + "attn_k.weight", xn), heads: kvHeads, position: positions[r]))
                v.append(matvec(p + "attn_v.weight", xn))
            }
            let group = heads / kvHeads
            for r in 0..<n {
                var att = [Double](repeating: 0, count: heads * headDim)
                for h in 0..<heads {
                    let kh = h / group
                    var scores: [Double] = []
                    var visible: [Int] = []
                    for j in 0..<n where positions[j] <= positions[r] {
                        var s = 0.0
                        for d in 0..<headDim { s += q[r][h * headDim + d] * k[j][kh * headDim + d] }
                        scores.append(s / Double(headDim).squareRoot())
                        visible.append(j)
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for (idx, j) in visible.enumerated() {
                        for d in 0..<headDim { att[h * headDim + d] += e[idx] / z * v[j][kh * headDim + d] }
                    }
                }
                let o = matvec(p + "attn_output.weight", att)
                for i in 0..<hidden { x[r][i] += o[i] }
                let xn = rmsNorm(x[r], p + "ffn_norm.weight")
                let g = matvec(p + "ffn_gate.weight", xn), u = matvec(p + "ffn_up.weight", xn)
                let act = (0..<ffn).map { g[$0] / (1 + exp(-g[$0])) * u[$0] }
                let d = matvec(p + "ffn_down.weight", act)
                for i in 0..<hidden { x[r][i] += d[i] }
            }
        }
        let head = tensors["output.weight"] != nil ? "output.weight" : "token_embd.weight"
        return x.map { matvec(head, rmsNorm($0, "output_norm.weight")) }
    }
}
