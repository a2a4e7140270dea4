/// Identifies one compute op issued by one host program; completions are matched by it.
/// Ids are assigned per host in issue order, starting at 0.
public struct OpID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: OpID, b: OpID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "op\(rawValue)" }
}

/// How finely local work is split into ops.
public enum Granularity: String, Hashable, Sendable, Codable {
    /// One op per layer step (`layerInputs`, `attend`, `merge`, `finishLayer`): the default.
    case perLayer = "per-layer"
    /// Any stretch of work on one segment that needs no communication (Star phase 1 blocks, a
    /// single-host prefill, single-host decode steps) becomes one ``Op/encode(_:keys:dropAnchor:visiblePairsPerLayer:keyTokensPerLayer:)``.
    /// Work interleaved with messages stays per layer. For very large sweeps.
    case coarse
}

/// A symbolic compute step. Carries what the real backend needs to find its tensors and what the
/// cost model needs (token counts, KV length, visible pairs).
///
/// Tensor conventions of the shell: hidden `[tokens, hidden]`, Q `[tokens, heads*headDim]`,
/// K/V `[tokens, kvHeads*headDim]`, partial = output `[tokens, heads*headDim]` + lse `[tokens, heads]` (fp32).
public enum Op: Hashable, Sendable, CustomStringConvertible {
    /// Token embedding of the segment's tokens → its hidden states (layer 0 input).
    case embed(Segment)
    /// RMSNorm + Q/K/V projections + RoPE (at the runs' positions) of the segment at `layer`.
    /// Q is kept until the segment's `finishLayer(layer)`. If `storesKV`, each run's K,V is appended
    /// to the store its ``TokenRun/kv`` names; otherwise only Q is needed (K,V projections may be skipped).
    case layerInputs(layer: Int, Segment, storesKV: Bool)
    /// Attention of the segment's Q at `layer` to the concatenation of `keys` (stores at `layer`),
    /// causal by position (key visible iff key position ≤ query position). Produces one partial
    /// (output + lse) appended to the segment's pending partials for `layer`.
    /// `visiblePairs` = (query, key) pairs the mask lets through; `keyTokens` = total KV length read.
    case attend(layer: Int, queries: Segment, keys: [KVRef], visiblePairs: Int, keyTokens: Int)
    /// Ulysses: attention of the segment's Q at `layer` for head group `group` of `of` (query heads
    /// `heads/of`, its KV heads ``ModelShape/kvHeadRange(group:of:kvHeads:)``, the group's columns) to the concatenation of `keys` (stores
    /// holding that group's K,V), causal by position. Produces one partial of the group's slice
    /// (output + lse of its heads), appended to the segment's pending head-group partials at `layer`;
    /// a single one is the slice (plain Ulysses), several are merged by `mergeHeads` (USP's ring).
    case attendHeads(layer: Int, queries: Segment, group: Int, of: Int, keys: [KVRef], visiblePairs: Int, keyTokens: Int)
    /// USP: exact log-sum-exp merge of the segment's `parts` pending partials of head group `group`
    /// of `of` at `layer` (one per ring block it attended) into its output slice. Costs `parts − 1`
    /// pairwise merges of `heads/of` heads.
    case mergeHeads(layer: Int, Segment, group: Int, of: Int, parts: Int)
    /// APB: selects `keep` of the segment's tokens in `candidates` (sequence indices of its block) by
    /// `selection` — SnapKV-style scores of the last `window` block queries, or the most recent — and
    /// puts their K,V at `layer` (at their positions) into store `into`, the host's passing block.
    case compress(layer: Int, Segment, into: KVRef, keep: Int, candidates: Range<Int>, selection: APBPlan.PassingSelection, window: Int)
    /// Exact log-sum-exp merge of the segment's `parts` pending partials at `layer` into one
    /// (`lse = logaddexp_h lse_h`, `A = Σ_h exp(lse_h − lse)·A_h`). Costs `parts − 1` pairwise merges.
    case merge(layer: Int, Segment, parts: Int)
    /// Output projection + residual + RMSNorm + MLP + residual on the segment at `layer`, using its
    /// single pending attention output (its only partial, the merged one, or a received merged output).
    case finishLayer(layer: Int, Segment)
    /// Coarse form of `embed` + every layer's `layerInputs(storesKV: true)`, `attend(keys)`,
    /// optional drop of `dropAnchor` after the attend, `finishLayer`. Same math, one completion.
    case encode(Segment, keys: [KVRef], dropAnchor: KVRef?, visiblePairsPerLayer: Int, keyTokensPerLayer: Int)
    /// Final RMSNorm + output head on the segment's last row → logits `[vocab]`.
    case logits(Segment)
    /// Greedy sampling from the last logits. Completes with ``HostEvent/sampled(token:stop:)``
    /// instead of ``HostEvent/computed(_:)``.
    case sample

    /// The phase this op is reported under.
    public var phase: Phase {
        switch self {
        case .embed(let s), .layerInputs(_, let s, _), .attend(_, let s, _, _, _), .merge(_, let s, _),
            .mergeHeads(_, let s, _, _, _),
            .attendHeads(_, let s, _, _, _, _, _), .compress(_, let s, _, _, _, _, _),
            .finishLayer(_, let s), .encode(let s, _, _, _, _), .logits(let s):
            return s.phase
        case .sample: return .generation
        }
    }

    public var description: String {
        switch self {
        case .embed(let s): return "embed(\(s))"
        case .layerInputs(let l, let s, let stores): return "layerInputs(L\(l), \(s), storesKV: \(stores))"
        case .attend(let l, let s, let keys, let pairs, let kt):
            return "attend(L\(l), \(s), keys: \(keys), pairs: \(pairs), keyTokens: \(kt))"
        case .attendHeads(let l, let s, let g, let n, let keys, let pairs, let kt):
            return "attendHeads(L\(l), \(s), group \(g)/\(n), keys: \(keys), pairs: \(pairs), keyTokens: \(kt))"
        case .compress(let l, let s, let into, let keep, let c, let sel, let w):
            return "compress(L\(l), \(s), into: \(into), keep: \(keep) of \(c.lowerBound)..<\(c.upperBound), \(sel.rawValue)"
                + (sel == .snapKV ? ", window \(w))" : ")")
        case .merge(let l, let s, let parts): return "merge(L\(l), \(s), parts: \(parts))"
        case .mergeHeads(let l, let s, let g, let n, let parts): return "mergeHeads(L\(l), \(s), group \(g)/\(n), parts: \(parts))"
        case .finishLayer(let l, let s): return "finishLayer(L\(l), \(s))"
        case .encode(let s, let keys, let drop, let pairs, let kt):
            return "encode(\(s), keys: \(keys), drop: \(drop.map(\.description) ?? "-"), pairs/layer: \(pairs), keyTokens/layer: \(kt))"
        case .logits(let s): return "logits(\(s))"
        case .sample: return "sample"
        }
    }
}

/// A message between hosts: what it carries (symbolically) and its exact size on the wire.
public struct Message: Hashable, Sendable, CustomStringConvertible {
    /// What the message carries; the shell attaches the tensors it names.
    public enum Payload: Hashable, Sendable {
        /// The query's token ids (the segment names them). Bytes: `tokens · 4`.
        case queryTokens(Segment)
        /// Ring: the K,V at `layer` of the stores `blocks`, which originate on host `origin`
        /// (`tokens` in total). Bytes: `tokens · 2 · kvHeads · headDim · bytesPerElement` — a head
        /// group's KV heads only for a head-group store (USP's ring,
        /// ``ModelShape/kvBytesPerTokenPerLayer(in:)``); positions are implied by the plan.
        case kv(layer: Int, origin: Int, blocks: [KVRef], tokens: Int)
        /// Pass-Q ring: the Q rows of `segment` (another host's shard) at `layer`, after RoPE; the
        /// receiver attends them to its own K,V and returns a partial. Bytes:
        /// `tokens · heads · headDim · bytesPerElement` (positions are implied by the plan).
        case queries(layer: Int, Segment)
        /// Ulysses: the segment's Q, K, V at `layer` (after RoPE) for head group `group` of `of`, sent to
        /// that group's host. Bytes: `tokens · (heads/of + 2·max(1, kvHeads/of)) · headDim · bytesPerElement`.
        case headInputs(layer: Int, Segment, group: Int, of: Int)
        /// Ulysses: the segment's attention output at `layer` for head group `group` of `of`, back to the
        /// segment's owner. Bytes: `tokens · heads/of · headDim · bytesPerElement`.
        case headOutput(layer: Int, Segment, group: Int, of: Int)
        /// The sender's attention partial of `segment` at `layer` (output + fp32 lse).
        /// Bytes: `tokens · (heads · headDim · bytesPerElement + heads · 4)`.
        case partial(layer: Int, Segment)
        /// The merged attention output of `segment` at `layer` (gather–broadcast). The receiver uses
        /// it as its single pending attention output. Bytes: `tokens · heads · headDim · bytesPerElement`.
        case merged(layer: Int, Segment)
        /// The `index`-th sampled token (`id`), and whether generation stops (then it is not
        /// processed further; receivers finish). Bytes: 4.
        case token(index: Int, id: Int32, stop: Bool)
    }

    public let payload: Payload
    /// Exact size on the wire in bytes.
    public let bytes: Int

    /// Builds a message and its byte size for `shape`.
    public init(_ payload: Payload, shape: ModelShape) {
        self.payload = payload
        switch payload {
        case .queryTokens(let s): bytes = s.tokenCount * ModelShape.tokenIDBytes
        case .kv(_, _, let blocks, let tokens): bytes = tokens * (blocks.first.map(shape.kvBytesPerTokenPerLayer(in:)) ?? shape.kvBytesPerTokenPerLayer)
        case .queries(_, let s): bytes = s.tokenCount * shape.queryBytesPerTokenPerLayer
        case .headInputs(_, let s, _, let n): bytes = s.tokenCount * shape.headInputBytesPerTokenPerLayer(groups: n)
        case .headOutput(_, let s, _, let n): bytes = s.tokenCount * shape.headOutputBytesPerTokenPerLayer(groups: n)
        case .partial(_, let s): bytes = s.tokenCount * shape.partialBytesPerToken
        case .merged(_, let s): bytes = s.tokenCount * shape.mergedBytesPerToken
        case .token: bytes = ModelShape.tokenIDBytes
        }
    }

    /// The phase this message is reported under.
    public var phase: Phase {
        switch payload {
        case .queryTokens: return .queryEncoding
        case .kv: return .contextEncoding
        case .partial(_, let s), .merged(_, let s), .queries(_, let s), .headInputs(_, let s, _, _),
             .headOutput(_, let s, _, _): return s.phase
        case .token: return .generation
        }
    }

    public var description: String {
        switch payload {
        case .queryTokens(let s): return "queryTokens(\(s.tokenCount)) \(bytes)B"
        case .kv(let l, let o, let blocks, let t): return "kv(L\(l), from host\(o), \(blocks), \(t) tokens) \(bytes)B"
        case .queries(let l, let s): return "queries(L\(l), \(s)) \(bytes)B"
        case .headInputs(let l, let s, let g, let n): return "headInputs(L\(l), \(s), group \(g)/\(n)) \(bytes)B"
        case .headOutput(let l, let s, let g, let n): return "headOutput(L\(l), \(s), group \(g)/\(n)) \(bytes)B"
        case .partial(let l, let s): return "partial(L\(l), \(s)) \(bytes)B"
        case .merged(let l, let s): return "merged(L\(l), \(s)) \(bytes)B"
        case .token(let i, let id, let stop): return "token(#\(i) = \(id), stop: \(stop)) \(bytes)B"
        }
    }
}

/// What a host program tells its shell to do. Directives of one batch are executed in order;
/// a `send` snapshots the tensors it names at that point.
public enum Directive: Hashable, Sendable, CustomStringConvertible {
    /// Run `op`; report ``HostEvent/computed(_:)`` (or `sampled` for `.sample`) when done.
    case compute(OpID, Op)
    /// Send `message` to host `to`; the receiver gets ``HostEvent/received(_:from:)``.
    case send(to: Int, Message)
    /// Free the store's K,V at `layer` (anchor discard, a ring block already used). No completion.
    case dropKV(layer: Int, KVRef)
    /// Free the segment's hidden states (its work on this host is done). No completion.
    case dropHidden(Segment)
    /// Free another host's Q rows of `segment` at `layer` and the partial (or output slice) computed
    /// from them (pass-Q ring, Ulysses: attended and returned). No completion.
    case dropQueries(layer: Int, Segment)
    /// This host's program is done.
    case finish

    public var description: String {
        switch self {
        case .compute(let id, let op): return "\(id) \(op)"
        case .send(let to, let m): return "send -> host\(to): \(m)"
        case .dropKV(let l, let ref): return "dropKV(L\(l), \(ref))"
        case .dropHidden(let s): return "dropHidden(\(s))"
        case .dropQueries(let l, let s): return "dropQueries(L\(l), \(s))"
        case .finish: return "finish"
        }
    }
}

/// What the shell tells a host program.
public enum HostEvent: Hashable, Sendable {
    /// Delivered once, first.
    case start
    /// A compute op finished.
    case computed(OpID)
    /// A message arrived. Messages may arrive in any order; programs buffer what is early.
    case received(Message, from: Int)
    /// The `.sample` op finished with `token`; `stop` says whether generation ends here (end of
    /// turn, or the requested number of tokens reached).
    case sampled(token: Int32, stop: Bool)
}

/// A per-host algorithm: a pure state machine turning events into directives.
///
/// Protocol violations by the shell (an unknown op id, a message this method never sends) are
/// programming errors and stop the process with a message saying which.
public protocol HostProgram: Sendable {
    /// This host's index, `0..<hosts`.
    var host: Int { get }
    /// True once the program has emitted ``Directive/finish``.
    var isFinished: Bool { get }
    /// Reacts to one event.
    mutating func handle(_ event: HostEvent) -> [Directive]
}

/// How phase 2 combines the per-host partials at every layer.
public enum Phase2Pattern: String, Hashable, Sendable, CaseIterable, Codable {
    /// Partials go to the query host, which merges and sends the merged output back to every host
    /// (the paper's description).
    case gatherBroadcast = "gather-broadcast"
    /// Every host sends its partial to every other host and merges itself (NVIDIA's reference code).
    case allGather = "all-gather"
    /// Tree decoding (Tree Attention, arXiv 2408.04093): partials are merged up a binomial tree
    /// rooted at the query host in ⌈log₂ H⌉ levels, each host merging its children's partials with
    /// its own and sending one partial (output + lse) to its parent; the merged output comes back
    /// down the same tree. No host sends or receives more than ⌈log₂ H⌉ vectors per layer per token
    /// (`Docs/TreeDecoding.md`).
    case tree
}

/// The binomial tree of ``Phase2Pattern/tree`` over `participants`, rooted at `root`: the host of
/// rank `r` (its place after the root, cyclically) has parent rank `r & (r − 1)` and child ranks
/// `r + 2^k` for `2^k` below `r`'s lowest set bit (every `2^k` for the root), below `H`.
public struct Phase2Tree: Sendable, Hashable {
    public let participants: [Int]
    public let root: Int

    public init(participants: [Int], root: Int) {
        precondition(participants.contains(root), "Phase2Tree: root \(root) is not a participant")
        self.participants = participants
        self.root = root
    }

    private var rootIndex: Int { participants.firstIndex(of: root)! }
    private func rank(_ host: Int) -> Int {
        let i = participants.firstIndex(of: host)!
        return (i - rootIndex + participants.count) % participants.count
    }
    private func host(rank r: Int) -> Int { participants[(rootIndex + r) % participants.count] }

    /// The host `host` sends its partial to (nil for the root).
    public func parent(of host: Int) -> Int? {
        let r = rank(host)
        return r == 0 ? nil : self.host(rank: r & (r - 1))
    }

    /// The hosts whose partials `host` merges, nearest subtree first.
    public func children(of host: Int) -> [Int] {
        let r = rank(host), h = participants.count
        let limit = r == 0 ? h : (r & -r)
        var out: [Int] = []
        var step = 1
        while step < limit && r + step < h {
            out.append(self.host(rank: r + step))
            step <<= 1
        }
        return out
    }
}
