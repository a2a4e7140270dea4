/// APB — Star-like blocks with *passing blocks* (Huang et al., "APB: Accelerating Distributed
/// Long-Context Inference by Passing Compressed Context Blocks across GPUs", ACL 2025, arXiv
/// 2502.12085; `Docs/APB.md`). Approximate.
///
/// The context is split into one block per host (the last may be shorter). Host `i` encodes
/// `[anchor ; block i]` as Star does (host 0 its block alone). Per layer, after `layerInputs`, every
/// host but the last compresses its block's K,V to `passingSize` tokens — its *passing block* — and
/// sends it to every later host; host `i` then attends its queries to its anchor, the passing blocks
/// of hosts `0..<i` and its own block (causal by position), and drops the anchor and the passing
/// blocks after the attend. Phase 2 is Star's.
///
/// APB's compressor is a trained retaining-head scorer we do not have. StarSim selects the passing
/// tokens training-free with a ``PassingSelection`` (pluggable), named as such in reports.
public struct APBPlan: Hashable, Sendable {
    /// How a host picks the tokens of its passing block (candidates: its block's tokens past the anchor).
    public enum PassingSelection: String, Hashable, Sendable, CaseIterable, Codable {
        /// SnapKV-style (Li et al., arXiv 2404.14469), training-free: each candidate's attention weight
        /// from the block's last `window` queries, summed over those queries and all heads; the top
        /// `passingSize`, kept in position order (one token set shared by every head).
        case snapKV = "snapkv"
        /// The last `passingSize` candidates (a recency baseline).
        case recent
    }

    /// Blocks, anchor and phase 2 as Star's (one block per host).
    public let star: StarPlan
    /// Tokens of each passing block.
    public let passingSize: Int
    public let selection: PassingSelection
    /// Queries at the end of a block whose attention scores the candidates (`snapKV`).
    public let window: Int

    /// - Throws: ``PlanError`` naming the field, its value and what was expected.
    public init(
        contextLength: Int, queryLength: Int, hosts: Int, anchorSize: Int? = nil, passingSize: Int? = nil,
        selection: PassingSelection = .snapKV, window: Int = 32, phase2: Phase2Pattern = .gatherBroadcast
    ) throws(PlanError) {
        func fail(_ field: String, _ value: Int, _ expected: String) -> PlanError {
            PlanError(.invalid(owner: "APBPlan", field: field, value: value, expected: expected))
        }
        guard hosts >= 1 else { throw fail("hosts", hosts, "at least 1") }
        let block = (contextLength + hosts - 1) / hosts
        // APB's defaults relative to Star's anchor = block: a quarter of the block as anchor, an eighth as passing block.
        let anchor = anchorSize ?? max(1, block / 4)
        let star = try StarPlan(contextLength: contextLength, queryLength: queryLength, blockSize: block,
                                anchorSize: anchor, hosts: hosts, phase2: phase2)
        guard star.blockCount == hosts else {
            throw fail("contextLength", contextLength, "at least one token per host's block (\(hosts) blocks of \(block))")
        }
        let passing = passingSize ?? max(1, block / 8)
        guard window >= 1 else { throw fail("window", window, "at least 1 query") }
        self.star = star
        self.passingSize = passing
        self.selection = selection
        self.window = window
        // Every host that passes a block (all but the last) needs `passingSize` candidates.
        let fewest = (0..<max(hosts - 1, 0)).map { candidates($0).count }.min() ?? passing
        guard passing >= 1 && passing <= fewest else {
            throw fail("passingSize", passing, "1 to \(fewest): the tokens of a block past the anchor")
        }
    }

    public var contextLength: Int { star.contextLength }
    public var queryLength: Int { star.queryLength }
    public var hosts: Int { star.hosts }
    public var anchorSize: Int { star.anchorSize }
    public var queryHost: Int { star.queryHost }

    /// Tokens of host `i`'s block its passing block is chosen from: past the anchor (block 0's first
    /// tokens are every later host's anchor already).
    public func candidates(_ i: Int) -> Range<Int> {
        let b = star.blockTokens(i)
        return max(b.lowerBound, min(anchorSize, b.upperBound))..<b.upperBound
    }

    /// The store of host `i`'s passing block (at each layer, until the later hosts have attended it).
    public func passingStore(_ i: Int) -> KVRef { .passing(i) }

    /// The segment host `i` encodes: `[anchor ; block i]` (block 0 alone).
    public func segment(_ i: Int) -> Segment { star.encodingSegment(i) }

    /// Visible (query, key) pairs of host `i`'s attend per layer: Star's (anchor and own block) plus
    /// every block token seeing every passing token (all of them lie after the anchor and before the
    /// block). Independent of which tokens are selected.
    public func visiblePairs(host i: Int) -> Int {
        let s = segment(i)
        let local = VisiblePairs.count(queries: s.runs, keys: s.runs)
        return local + star.blockTokens(i).count * i * passingSize
    }

    /// Keys read by host `i`'s attend per layer.
    public func keyTokens(host i: Int) -> Int { segment(i).tokenCount + i * passingSize }

    public var querySegment: Segment { star.querySegment }
    public func generatedSegment(_ n: Int) -> Segment { star.generatedSegment(n) }

    /// One program per host, index = host.
    public func programs(shape: ModelShape, granularity: Granularity = .perLayer) -> [APBHostProgram] {
        (0..<hosts).map { APBHostProgram(plan: self, host: $0, shape: shape) }
    }

    /// Bytes each host sends, by phase: per layer host `i < hosts − 1` sends its passing block
    /// (`passingSize · 2·kvHeads·headDim·bytes`) to each of the `hosts − 1 − i` later hosts; phase 2
    /// as Star's (``StarPlan/analyticTraffic(shape:sampledTokens:)``).
    public func analyticTraffic(shape: ModelShape, sampledTokens: Int) -> TrafficTable {
        var t = star.analyticTraffic(shape: shape, sampledTokens: sampledTokens)
        for i in 0..<hosts {
            t[i, .contextEncoding] += shape.layers * (hosts - 1 - i) * passingSize * shape.kvBytesPerTokenPerLayer
        }
        return t
    }
}
