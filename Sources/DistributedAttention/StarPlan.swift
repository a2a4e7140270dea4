/// Which tokens Star Attention puts on which host, with their positions.
///
/// The context `0..<contextLength` is cut into contiguous blocks of `blockSize` tokens (the last
/// block may be shorter; nothing is padded). Blocks go to hosts contiguously and as evenly as
/// possible: the first `blockCount % hosts` hosts get one block more; block 0 is on host 0.
/// Block 0 is encoded alone; block `i > 0` as `[anchor ; block i]` when `anchorSize > 0`:
/// - `.firstBlock` anchor: context tokens `0..<anchorSize`, positions `0..<anchorSize`
///   (the method of Acharya et al., ICML 2025, arXiv 2411.17116);
/// - `.previousBlock` anchor: the last `anchorSize` tokens of block `i − 1` with their own global
///   positions (the paper's ablation; with `anchorSize == blockSize` the whole previous block).
/// The block keeps its global positions. Query tokens are `contextLength..<contextLength+queryLength`
/// at the same positions; generated token `n` is token and position `contextLength + queryLength + n`.
public struct StarPlan: Hashable, Sendable {
    /// Where the anchor of block `i > 0` comes from.
    public enum AnchorSource: Hashable, Sendable {
        case firstBlock
        case previousBlock
    }

    public let contextLength: Int
    public let queryLength: Int
    public let blockSize: Int
    /// Anchor tokens prepended to every block but the first; 0 = no anchor.
    public let anchorSize: Int
    public let anchorSource: AnchorSource
    public let hosts: Int
    /// The host that appends the query/generated KV, merges (gather–broadcast) and samples.
    public let queryHost: Int
    public let phase2: Phase2Pattern

    /// Validates and builds a plan.
    /// - Parameter queryHost: defaults to `hosts − 1`, the host holding the last block.
    /// - Throws: ``PlanError`` naming the field, its value and what was expected.
    public init(
        contextLength: Int, queryLength: Int, blockSize: Int, anchorSize: Int,
        anchorSource: AnchorSource = .firstBlock, hosts: Int, queryHost: Int? = nil,
        phase2: Phase2Pattern = .gatherBroadcast
    ) throws(PlanError) {
        func fail(_ field: String, _ value: Int, _ expected: String) -> PlanError {
            PlanError(.invalid(owner: "StarPlan", field: field, value: value, expected: expected))
        }
        guard contextLength >= 1 else { throw fail("contextLength", contextLength, "at least 1 token") }
        guard queryLength >= 1 else {
            throw fail("queryLength", queryLength, "at least 1 token (the query produces the first logits)")
        }
        guard blockSize >= 1 else { throw fail("blockSize", blockSize, "at least 1 token") }
        guard blockSize <= contextLength else {
            throw fail("blockSize", blockSize, "at most contextLength (\(contextLength))")
        }
        guard anchorSize >= 0 else { throw fail("anchorSize", anchorSize, "0 (no anchor) or more") }
        guard anchorSize <= blockSize else {
            throw fail("anchorSize", anchorSize, "at most blockSize (\(blockSize)); the anchor is cut from one block")
        }
        guard hosts >= 1 else { throw fail("hosts", hosts, "at least 1") }
        let blocks = (contextLength + blockSize - 1) / blockSize
        guard hosts <= blocks else {
            throw fail(
                "hosts", hosts,
                "at most the number of blocks (\(blocks) = ⌈\(contextLength)/\(blockSize)⌉); every host needs a block")
        }
        let qh = queryHost ?? hosts - 1
        guard qh >= 0 && qh < hosts else { throw fail("queryHost", qh, "a host in 0..<\(hosts)") }
        self.contextLength = contextLength
        self.queryLength = queryLength
        self.blockSize = blockSize
        self.anchorSize = anchorSize
        self.anchorSource = anchorSource
        self.hosts = hosts
        self.queryHost = qh
        self.phase2 = phase2
    }

    /// Number of blocks, `⌈contextLength / blockSize⌉`.
    public var blockCount: Int { (contextLength + blockSize - 1) / blockSize }

    /// Context tokens (and positions) of block `i`.
    public func blockTokens(_ i: Int) -> Range<Int> {
        precondition(i >= 0 && i < blockCount, "StarPlan: block \(i) out of 0..<\(blockCount)")
        return (i * blockSize)..<min((i + 1) * blockSize, contextLength)
    }

    /// The anchor of block `i` (nil for block 0 or when `anchorSize == 0`); its `kv` is `.anchor(i)`.
    public func anchorRun(_ i: Int) -> TokenRun? {
        guard i > 0, anchorSize > 0 else { return nil }
        switch anchorSource {
        case .firstBlock:
            return TokenRun(tokens: 0..<anchorSize, firstPosition: 0, kv: .anchor(i))
        case .previousBlock:
            let prev = blockTokens(i - 1)
            let range = (prev.upperBound - anchorSize)..<prev.upperBound
            return TokenRun(tokens: range, firstPosition: Int32(range.lowerBound), kv: .anchor(i))
        }
    }

    /// Block `i`'s own tokens at their global positions; its `kv` is `.block(i)`.
    public func blockRun(_ i: Int) -> TokenRun {
        let r = blockTokens(i)
        return TokenRun(tokens: r, firstPosition: Int32(r.lowerBound), kv: .block(i))
    }

    /// The segment phase 1 encodes for block `i`: `[anchor ; block]` or the block alone.
    public func encodingSegment(_ i: Int) -> Segment {
        if let anchor = anchorRun(i) {
            return Segment(role: .anchoredBlock(i), runs: [anchor, blockRun(i)])
        }
        return Segment(role: .block(i), runs: [blockRun(i)])
    }

    /// Blocks held by host `h` (contiguous).
    public func blocks(onHost h: Int) -> Range<Int> {
        precondition(h >= 0 && h < hosts, "StarPlan: host \(h) out of 0..<\(hosts)")
        return (0..<blockCount).evenPiece(h, of: hosts)
    }

    /// The host holding block `i`.
    public func host(ofBlock i: Int) -> Int {
        precondition(i >= 0 && i < blockCount, "StarPlan: block \(i) out of 0..<\(blockCount)")
        let base = blockCount / hosts
        let extra = blockCount % hosts
        // The first `extra` hosts hold `base + 1` blocks each.
        if i < extra * (base + 1) { return i / (base + 1) }
        return extra + (i - extra * (base + 1)) / base
    }

    /// Context tokens held (as KV) by host `h` after phase 1.
    public func contextTokens(onHost h: Int) -> Int {
        blocks(onHost: h).reduce(0) { $0 + blockTokens($1).count }
    }

    /// The query segment: tokens and positions `contextLength..<contextLength+queryLength`, KV `.appended`.
    public var querySegment: Segment { PhaseTwoSegments.query(context: contextLength, query: queryLength) }

    /// Generated token `n` (0-based): token and position `contextLength + queryLength + n`.
    public func generatedSegment(_ n: Int) -> Segment {
        PhaseTwoSegments.generated(n, context: contextLength, query: queryLength)
    }

    /// One program per host, index = host.
    public func programs(shape: ModelShape, granularity: Granularity = .perLayer) -> [StarHostProgram] {
        (0..<hosts).map { StarHostProgram(plan: self, host: $0, shape: shape, granularity: granularity) }
    }
}

/// Segments of phase 2, shared by every method.
enum PhaseTwoSegments {
    static func query(context: Int, query: Int) -> Segment {
        Segment(
            role: .query,
            runs: [TokenRun(tokens: context..<(context + query), firstPosition: Int32(context), kv: .appended)])
    }

    static func generated(_ n: Int, context: Int, query: Int) -> Segment {
        let t = context + query + n
        return Segment(role: .generated(n), runs: [TokenRun(tokens: t..<(t + 1), firstPosition: Int32(t), kv: .appended)])
    }

    /// Segment `index` of phase 2: 0 is the query, `k ≥ 1` is generated token `k − 1`.
    static func segment(_ index: Int, context: Int, query: Int) -> Segment {
        index == 0 ? Self.query(context: context, query: query) : generated(index - 1, context: context, query: query)
    }
}
