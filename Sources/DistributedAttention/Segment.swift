/// The phase of a run that an op or message belongs to (for per-phase time and traffic reports).
public enum Phase: Int, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Star phase 1, ring prefill, global context prefill.
    case contextEncoding
    /// Phase 2 on the query tokens (including sending the query to every host).
    case queryEncoding
    /// Phase 2 on each generated token (including broadcasting sampled tokens).
    case generation

    public var description: String {
        switch self {
        case .contextEncoding: return "context"
        case .queryEncoding: return "query"
        case .generation: return "generation"
        }
    }

    /// The phase whose ``description`` is `name`, nil for any other text.
    public init?(name: String) {
        guard let phase = Phase.allCases.first(where: { $0.description == name }) else { return nil }
        self = phase
    }
}

/// Names one KV store on a host. Stores hold, per layer, K and V `[tokens, kvHeads*headDim]` and the
/// tokens' positions; `layerInputs` appends to the store each ``TokenRun`` names.
///
/// - `block(i)`: the KV of context block `i` (Star block, Ring chunk; Global holds the whole
///   context as block 0). In a ring, a received block is stored under its own `block(i)` name.
/// - `anchor(i)`: the anchor's KV while Star block `i` is encoded; dropped after each layer's attend.
/// - `appended`: the query and generated tokens' KV, kept only by the query host.
public enum KVRef: Hashable, Sendable, CustomStringConvertible {
    case block(Int)
    case anchor(Int)
    case appended

    public var description: String {
        switch self {
        case .block(let i): return "kv.block\(i)"
        case .anchor(let i): return "kv.anchor\(i)"
        case .appended: return "kv.appended"
        }
    }
}

/// A run of consecutive tokens of the sequence with consecutive positions.
///
/// The *sequence* is `context ++ query ++ generated`: token index `t` is the `t`-th token of it
/// (context `0..<L`, query `L..<L+q`, generated token `n` at `L+q+n`).
public struct TokenRun: Hashable, Sendable, CustomStringConvertible {
    /// Indices into the sequence.
    public let tokens: Range<Int>
    /// Position (RoPE index and causal-mask key) of `tokens.lowerBound`; positions increase by one.
    public let firstPosition: Int32
    /// The store `layerInputs` appends this run's K,V to (when the op stores KV at all).
    public let kv: KVRef

    public init(tokens: Range<Int>, firstPosition: Int32, kv: KVRef) {
        self.tokens = tokens
        self.firstPosition = firstPosition
        self.kv = kv
    }

    /// Number of tokens.
    public var count: Int { tokens.count }
    /// Positions of the tokens, in token order.
    public var positions: Range<Int32> { firstPosition..<(firstPosition + Int32(tokens.count)) }

    public var description: String {
        "tokens \(tokens.lowerBound)..<\(tokens.upperBound) @pos \(firstPosition) -> \(kv)"
    }
}

/// A named set of tokens processed together by one op: a block, an anchored block, a ring shard,
/// the query, or one generated token.
///
/// Its hidden states `[tokenCount, hidden]` live on the host from `embed` until `dropHidden`; rows
/// are in ``runs`` order.
public struct Segment: Hashable, Sendable, CustomStringConvertible {
    /// What the tokens are.
    public enum Role: Hashable, Sendable {
        /// Context block (or ring chunk) `i` encoded alone; Global's whole context is `block(0)`.
        case block(Int)
        /// Star: `[anchor ; block i]` encoded in one causal pass.
        case anchoredBlock(Int)
        /// Ring: all chunks held by `host`, encoded together.
        case shard(host: Int)
        /// The query tokens.
        case query
        /// The `n`-th generated token (0-based).
        case generated(Int)
    }

    public let role: Role
    /// Token runs in row order. Positions of different runs never overlap.
    public let runs: [TokenRun]

    public init(role: Role, runs: [TokenRun]) {
        self.role = role
        self.runs = runs
    }

    /// Total number of tokens (rows).
    public var tokenCount: Int { runs.reduce(0) { $0 + $1.count } }
    /// Positions of every row, in row order.
    public var positions: [Int32] { runs.flatMap { Array($0.positions) } }
    /// Sequence index of every row, in row order.
    public var tokenIndices: [Int] { runs.flatMap { Array($0.tokens) } }

    /// The phase work on this segment is reported under.
    public var phase: Phase {
        switch role {
        case .block, .anchoredBlock, .shard: return .contextEncoding
        case .query: return .queryEncoding
        case .generated: return .generation
        }
    }

    public var description: String {
        let name: String
        switch role {
        case .block(let i): name = "block\(i)"
        case .anchoredBlock(let i): name = "anchor+block\(i)"
        case .shard(let h): name = "shard(host\(h))"
        case .query: name = "query"
        case .generated(let n): name = "gen\(n)"
        }
        return "\(name)[\(runs.map(\.description).joined(separator: ", "))]"
    }
}

/// Counting the (query, key) pairs a causal mask lets through: key visible iff its position is at
/// most the query's position. This is what attention FLOPs scale with
/// (`4 · heads · headDim` FLOP per visible pair for QKᵀ and PV).
public enum VisiblePairs {
    /// Pairs between queries at `queries` and keys at `keys`.
    /// - Complexity: O(1).
    public static func count(queries: Range<Int32>, keys: Range<Int32>) -> Int {
        let m = keys.count
        guard m > 0, !queries.isEmpty else { return 0 }
        // For a query at p, visible keys = clamp(p - k0 + 1, 0, m). Sum over x = c ..< c+n.
        let c = Int(queries.lowerBound) - Int(keys.lowerBound) + 1
        let n = queries.count
        func prefix(_ t: Int) -> Int {  // Σ_{x=0}^{t-1} clamp(x, 0, m)
            if t <= 0 { return 0 }
            if t <= m + 1 { return t * (t - 1) / 2 }
            return m * (m + 1) / 2 + (t - m - 1) * m
        }
        return prefix(c + n) - prefix(c)
    }

    /// Pairs between every query run and every key run.
    /// - Complexity: O(queries.count · keys.count).
    public static func count(queries: [TokenRun], keys: [TokenRun]) -> Int {
        var total = 0
        for q in queries {
            for k in keys { total += count(queries: q.positions, keys: k.positions) }
        }
        return total
    }
}
