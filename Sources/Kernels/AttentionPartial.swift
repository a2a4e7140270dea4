#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Head layout of one attention call.
///
/// Queries have `heads` heads, keys/values `kvHeads` heads (grouped-query attention: query head `h`
/// uses KV head `h / (heads / kvHeads)`), each `headDim` wide. Logits are `scale · q·k`.
public struct AttentionGeometry: Sendable, Hashable {
    /// Query heads.
    public var heads: Int
    /// Key/value heads; divides `heads`.
    public var kvHeads: Int
    /// Width of one head (floats).
    public var headDim: Int
    /// Logit scale, usually `1/sqrt(headDim)`.
    public var scale: Float

    /// - Parameter scale: defaults to `1/sqrt(headDim)`.
    public init(heads: Int, kvHeads: Int, headDim: Int, scale: Float? = nil) {
        precondition(heads > 0 && kvHeads > 0 && headDim > 0, "AttentionGeometry: heads \(heads), kvHeads \(kvHeads), headDim \(headDim) must be positive")
        precondition(heads % kvHeads == 0, "AttentionGeometry: heads (\(heads)) must be a multiple of kvHeads (\(kvHeads))")
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
    }

    /// Query heads per KV head.
    public var groupSize: Int { heads / kvHeads }
    /// Floats per query/output row: `heads · headDim`.
    public var queryWidth: Int { heads * headDim }
    /// Floats per key/value row: `kvHeads · headDim`.
    public var kvWidth: Int { kvHeads * headDim }
}

/// Output of attention over one KV source, before or after merging with other sources.
///
/// - `output`: `[queries, heads*headDim]`, the softmax-weighted values over the visible keys of this
///   source (already normalised by this source's own denominator).
/// - `lse`: `[queries, heads]`, natural log of this source's softmax denominator
///   `Σ_j exp(scale · q·k_j)` over visible keys. A query row that sees no key has `lse = -∞` and
///   output 0, and then contributes nothing to a merge.
public struct AttentionPartial: Sendable, Equatable {
    /// `[queries, heads*headDim]`.
    public var output: [Float]
    /// `[queries, heads]`, natural log.
    public var lse: [Float]
    /// Number of query rows.
    public let queries: Int
    /// Head layout.
    public let geometry: AttentionGeometry

    /// Wraps existing buffers; sizes are checked.
    public init(output: [Float], lse: [Float], queries: Int, geometry: AttentionGeometry) {
        precondition(output.count == queries * geometry.queryWidth,
            "AttentionPartial: output has \(output.count) floats, expected queries (\(queries)) × heads·headDim (\(geometry.queryWidth))")
        precondition(lse.count == queries * geometry.heads,
            "AttentionPartial: lse has \(lse.count) floats, expected queries (\(queries)) × heads (\(geometry.heads))")
        self.output = output
        self.lse = lse
        self.queries = queries
        self.geometry = geometry
    }

    /// A partial that saw no key: output 0, lse -∞ (the identity of `merge`).
    public static func empty(queries: Int, geometry: AttentionGeometry) -> AttentionPartial {
        AttentionPartial(
            output: [Float](repeating: 0, count: queries * geometry.queryWidth),
            lse: [Float](repeating: -.infinity, count: queries * geometry.heads),
            queries: queries, geometry: geometry)
    }

    /// Exact, numerically stable log-sum-exp merge of partials over disjoint KV sources.
    ///
    /// For each row and head: `lse = log Σ_p exp(lse_p)`, `output = Σ_p exp(lse_p − lse) · output_p`.
    /// Parts with `lse = -∞` get weight 0; if every part is `-∞` the result is `-∞` with output 0.
    /// The result equals attention over the concatenated KV up to Float rounding.
    /// - Precondition: at least one part; all parts have the same `queries` and `geometry`.
    /// - Complexity: O(parts · queries · heads · headDim).
    public static func merge(_ parts: [AttentionPartial]) -> AttentionPartial {
        precondition(!parts.isEmpty, "AttentionPartial.merge: needs at least one part")
        var result = parts[0]
        for part in parts.dropFirst() { result.merge(with: part) }
        return result
    }

    /// Merges `other` (attention of the same queries over a disjoint KV source) into `self`.
    /// Same rule as `merge(_:)`.
    public mutating func merge(with other: AttentionPartial) {
        precondition(other.queries == queries && other.geometry == geometry,
            "AttentionPartial.merge: shapes differ (queries \(queries) vs \(other.queries), geometry \(geometry) vs \(other.geometry))")
        let heads = geometry.heads
        let d = geometry.headDim
        output.withUnsafeMutableBufferPointer { out in
            lse.withUnsafeMutableBufferPointer { lseA in
                other.output.withUnsafeBufferPointer { outB in
                    other.lse.withUnsafeBufferPointer { lseB in
                        for r in 0..<(queries * heads) {
                            let a = lseA[r]
                            let b = lseB[r]
                            if b == -.infinity { continue }
                            let base = r * d
                            if a == -.infinity {
                                lseA[r] = b
                                for i in 0..<d { out[base + i] = outB[base + i] }
                                continue
                            }
                            let m = Swift.max(Double(a), Double(b))
                            let ea = exp(Double(a) - m)
                            let eb = exp(Double(b) - m)
                            let s = ea + eb
                            lseA[r] = Float(m + log(s))
                            let wa = Float(ea / s)
                            let wb = Float(eb / s)
                            for i in 0..<d { out[base + i] = wa * out[base + i] + wb * outB[base + i] }
                        }
                    }
                }
            }
        }
    }
}

/// Pointer-based multi-way log-sum-exp merge (used for key splits inside `FlashAttention`).
enum LSEMerge {
    /// Merges `parts` partial results laid out at fixed strides into `intoOutput`/`lse`.
    ///
    /// - Parameters:
    ///   - output: part `p` row `r` (a (query, head) pair) at `output + p·partOutputStride + r·headDim`.
    ///   - lse: part `p` row `r` at `lse + p·partLSEStride + r`.
    ///   - rows: queries × heads.
    static func merge(
        parts: Int, output: UnsafePointer<Float>, lse: UnsafePointer<Float>, partOutputStride: Int,
        partLSEStride: Int, rows: Int, headDim d: Int, intoOutput: UnsafeMutablePointer<Float>,
        lse result: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            var m = -Double.infinity
            for p in 0..<parts { m = max(m, Double(lse[p * partLSEStride + r])) }
            let dst = intoOutput + r * d
            if m == -.infinity {
                dst.update(repeating: 0, count: d)
                result[r] = -.infinity
                continue
            }
            var total = 0.0
            for p in 0..<parts { total += exp(Double(lse[p * partLSEStride + r]) - m) }
            dst.update(repeating: 0, count: d)
            for p in 0..<parts {
                let l = lse[p * partLSEStride + r]
                if l == -.infinity { continue }
                let w = Float(exp(Double(l) - m) / total)
                let src = output + p * partOutputStride + r * d
                for i in 0..<d { dst[i] += w * src[i] }
            }
            result[r] = Float(m + log(total))
        }
    }
}
