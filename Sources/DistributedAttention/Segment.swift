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
    /// Ulysses: head group `group` of `of` of the K,V of ring group `chunk`'s tokens (the store of
    /// the group's host; plain Ulysses has one ring group, `chunk` 0, holding every token).
    case heads(group: Int, of: Int, chunk: Int)
    /// APB: host `i`'s passing block (its compressed block K,V) at one layer.
    case passing(Int)

    /// The same store for head group `g` (a head-group store; any other is returned as is).
    public func headGroup(_ g: Int) -> KVRef {
        if case .heads(_, let n, let c) = self { return .heads(group: g, of: n, chunk: c) }
        return self
    }

    public var description: String {
        switch self {
        case .heads(let g, let n, let c): return "kv.heads\(g)/\(n)" + (c == 0 ? "" : "@\(c)")
        case .passing(let i): return "kv.passing\(i)"
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

    /// Hashes the role and the runs' ends only: segments are dictionary keys on every op, and a
    /// striped ring shard has a run per token (equality still compares every run).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(role)
        hasher.combine(runs.count)
        hasher.combine(runs.first)
        hasher.combine(runs.last)
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
        // Many runs (a striped ring shard: one per token) are summarised, so labels stay short.
        guard runs.count > 4 else { return "\(name)[\(runs.map(\.description).joined(separator: ", "))]" }
        let stride = runs[1].tokens.lowerBound - runs[0].tokens.lowerBound
        let strided = runs.allSatisfy { $0.count == 1 }
            && zip(runs, runs.dropFirst()).allSatisfy { $1.tokens.lowerBound - $0.tokens.lowerBound == stride }
        let what = strided ? "one token in \(stride) from \(runs[0].tokens.lowerBound)" : "\(runs.count) runs from \(runs[0].description)"
        return "\(name)[\(what): \(tokenCount) tokens -> \(runs[0].kv)]"
    }
}

/// Counting the (query, key) pairs a causal mask lets through: key visible iff its position is at
/// most the query's position. This is what attention FLOPs scale with
/// (`4 · heads · headDim` FLOP per visible pair for QKᵀ and PV).
/// Single-token runs at positions `first + i·stride` (a striped ring host's shard), recognised in O(n).
private struct Strided {
    let first: Int32
    let stride: Int
    let count: Int

    init?(_ runs: [TokenRun]) {
        guard runs.count >= 2, runs.allSatisfy({ $0.count == 1 }) else { return nil }
        let s = Int(runs[1].firstPosition) - Int(runs[0].firstPosition)
        guard s > 0 else { return nil }
        for i in 1..<runs.count where Int(runs[i].firstPosition) - Int(runs[i - 1].firstPosition) != s { return nil }
        first = runs[0].firstPosition
        stride = s
        count = runs.count
    }
}

private extension Int {
    /// ⌊self / d⌋ for d > 0.
    func floorDivided(by d: Int) -> Int { self >= 0 ? self / d : -((-self + d - 1) / d) }
}

extension Array where Element == TokenRun {
    /// The KV stores these runs append to, each once, in first-seen order (a striped ring host's
    /// hundreds of single-token runs share one store; attending to it twice would count it twice).
    public var stores: [KVRef] {
        var seen = Set<KVRef>()
        return compactMap { seen.insert($0.kv).inserted ? $0.kv : nil }
    }
}

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
    /// - Complexity: O((Q + K) log K) when the key runs' positions are disjoint (they are in every
    ///   plan: a striped ring host holds thousands of single-token runs); O(Q·K) otherwise.
    public static func count(queries: [TokenRun], keys: [TokenRun]) -> Int {
        if let q = Strided(queries), let k = Strided(keys), q.stride == k.stride {
            // Query i sees the keys j ≤ i + d with d = ⌊(a − b) / S⌋: the contiguous formula, shifted.
            let d = Int32((Int(q.first) - Int(k.first)).floorDivided(by: q.stride))
            return count(queries: d..<(d + Int32(q.count)), keys: 0..<Int32(k.count))
        }
        let sorted = keys.map(\.positions).filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        let disjoint = zip(sorted, sorted.dropFirst()).allSatisfy { $0.upperBound <= $1.lowerBound }
        guard disjoint, sorted.count > 8 else {
            var total = 0
            for q in queries {
                for k in sorted { total += count(queries: q.positions, keys: k) }
            }
            return total
        }
        // Keys before a query run's first position are all visible to each of its queries (prefix
        // sums); keys after its last are invisible; only the runs in between need the formula.
        var before = [0]
        before.reserveCapacity(sorted.count + 1)
        for k in sorted { before.append(before.last! + k.count) }
        func firstIndex(_ predicate: (Range<Int32>) -> Bool) -> Int {  // first run where predicate holds (monotone)
            var lo = 0, hi = sorted.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if predicate(sorted[mid]) { hi = mid } else { lo = mid + 1 }
            }
            return lo
        }
        var total = 0
        for q in queries {
            let p = q.positions
            guard !p.isEmpty else { continue }
            let full = firstIndex { $0.upperBound > p.lowerBound + 1 }   // runs ending at or before the first query
            let none = firstIndex { $0.lowerBound > p.upperBound - 1 }   // runs starting after the last query
            total += p.count * before[full]
            if full < none {
                for k in sorted[full..<none] { total += count(queries: p, keys: k) }
            }
        }
        return total
    }
}
