/// Which context tokens Ring Attention puts on which host.
///
/// - `.contiguous`: `hosts` chunks, chunk `r` on host `r`.
/// - `.zigzag`: `2·hosts` chunks, host `r` holds chunks `r` and `2·hosts − 1 − r` (balances the
///   causal work; Brandon et al. / zhuzilin's ring-flash-attention).
/// - `.striped`: token `t` on host `t mod hosts` (Striped Attention, Brandon et al., arXiv 2311.09431):
///   every host holds every `hosts`-th token, so every ring step has nearly the same causal work. A
///   host's tokens form one store `.block(host)` of single-token runs at their own positions.
/// Contiguous and zigzag chunks are contiguous and as even as possible: with `n` chunks, the first `contextLength % n`
/// chunks hold one token more. Nothing is padded; the context must have at least one token per chunk.
/// Positions are global (token `t` at position `t`). The query and generated tokens are handled
/// after the ring prefill as ``decode`` says, with host `hosts − 1` as query host.
public struct RingPlan: Hashable, Sendable {
    public enum Partition: Hashable, Sendable {
        case contiguous
        case zigzag
        case striped
    }

    /// How the query and generated tokens are processed after the ring prefill.
    public enum Decode: Hashable, Sendable {
        /// Star phase 2 on each host's own KV (query host `hosts − 1`), as in the paper's runs.
        case phase2
        /// Host `hosts − 1` keeps every KV block it receives during the ring (it ends up holding the
        /// whole context's KV: memory!) and decodes alone without communication.
        case lastHost
    }

    public let contextLength: Int
    public let queryLength: Int
    public let hosts: Int
    public let partition: Partition
    public let decode: Decode
    /// Merge pattern when `decode == .phase2`.
    public let phase2: Phase2Pattern
    /// How each layer's K,V blocks reach the other hosts.
    public let exchange: Exchange

    /// How the prefill's K,V move (`Docs/AllGatherCP.md`).
    public enum Exchange: String, Hashable, Sendable, CaseIterable, Codable {
        /// Ring Attention: a block is passed host to host around the ring, `hosts − 1` steps.
        case ring
        /// All-gather context parallelism (Llama 3's CP, vLLM/SGLang prefill CP, Megatron
        /// `all_gather`): each layer's K,V blocks are all-gathered — as NCCL does it on one NIC per
        /// host, a ring all-gather: the same blocks over the same links as Ring Attention — and each
        /// host then attends its queries to the full K,V in one kernel. Same bytes; the transfer is
        /// not hidden under per-step attention, and every host holds the whole layer's K,V at once.
        case allGather = "all-gather"
        /// Pass-Q ring (Yang et al., Meta, "Context Parallelism for Scalable Million-Token Inference",
        /// arXiv 2411.01783): the K,V stay where they were computed; each layer's Q blocks travel the
        /// ring instead, every host attends a visiting Q block to its own K,V and sends the partial
        /// (output + log-sum-exp) straight back to the block's owner, which merges them. Exact.
        /// Moves `heads · headDim` per token instead of `2 · kvHeads · headDim`, plus the partials
        /// (`Docs/PassQRing.md`).
        case passQ = "pass-q"
    }

    /// Validates and builds a plan.
    /// - Throws: ``PlanError`` naming the field, its value and what was expected.
    public init(
        contextLength: Int, queryLength: Int, hosts: Int, partition: Partition = .contiguous,
        decode: Decode = .phase2, phase2: Phase2Pattern = .gatherBroadcast, exchange: Exchange = .ring,
        cachedLength: Int = 0
    ) throws(PlanError) {
        func fail(_ field: String, _ value: Int, _ expected: String) -> PlanError {
            PlanError(.invalid(owner: "RingPlan", field: field, value: value, expected: expected))
        }
        guard hosts >= 1 else { throw fail("hosts", hosts, "at least 1") }
        guard queryLength >= 1 else {
            throw fail("queryLength", queryLength, "at least 1 token (the query produces the first logits)")
        }
        let chunks = partition == .zigzag ? 2 * hosts : hosts
        guard cachedLength >= 0 && cachedLength < contextLength else {
            throw fail("cachedLength", cachedLength, "0 up to the context length − 1 (\(contextLength - 1)): tokens of the context already in the KV cache")
        }
        guard contextLength - cachedLength >= chunks else {
            let why = partition == .zigzag ? "2·hosts = \(chunks) (zigzag)" : "hosts = \(chunks)"
            if cachedLength > 0 {
                throw fail("cachedLength", cachedLength, "at most \(contextLength - chunks): the \(why) chunks of new context tokens need a token each")
            }
            throw fail("contextLength", contextLength, "at least \(why) tokens so that every chunk holds a token")
        }
        if exchange == .passQ && decode == .lastHost && hosts > 1 {
            throw PlanError(.incompatible(
                owner: "RingPlan", field: "decode", value: "last-host",
                expected: "phase2 with exchange pass-q (pass-Q never moves K,V, so the last host cannot hold the whole context)"))
        }
        self.contextLength = contextLength
        self.queryLength = queryLength
        self.hosts = hosts
        self.partition = partition
        self.decode = decode
        self.phase2 = phase2
        self.exchange = exchange
        self.cachedLength = cachedLength
    }

    /// Context tokens `0..<cachedLength` whose K,V every host already holds when the run starts (an
    /// earlier turn's prefill, partitioned as the new tokens are): a *persistent-KV prefill* encodes
    /// only `cachedLength..<contextLength`, attending to the cached K,V too (arXiv 2411.01783 §3.4).
    public let cachedLength: Int

    /// The query host of phase 2 / the decoding host of `.lastHost`: `hosts − 1`.
    public var queryHost: Int { hosts - 1 }

    /// Number of chunks (KV stores): `hosts` (contiguous, striped) or `2·hosts` (zigzag).
    public var chunkCount: Int { partition == .zigzag ? 2 * hosts : hosts }

    /// New context tokens (and positions) of chunk `c`, within `cachedLength..<contextLength` —
    /// contiguous and zigzag only (a striped host's tokens are not one range: ``runs(onHost:)``).
    public func chunkTokens(_ c: Int) -> Range<Int> { chunk(c, of: cachedLength..<contextLength) }

    /// Chunk `c` of `tokens` split into ``chunkCount`` ranges as even as possible (the first
    /// `count % chunkCount` one token longer).
    private func chunk(_ c: Int, of tokens: Range<Int>) -> Range<Int> {
        precondition(partition != .striped, "RingPlan: striped chunks are not ranges; use runs(onHost:)")
        precondition(c >= 0 && c < chunkCount, "RingPlan: chunk \(c) out of 0..<\(chunkCount)")
        return tokens.evenPiece(c, of: chunkCount)
    }

    /// Chunks held by host `h`, in increasing order.
    public func chunks(onHost h: Int) -> [Int] {
        precondition(h >= 0 && h < hosts, "RingPlan: host \(h) out of 0..<\(hosts)")
        return partition == .zigzag ? [h, 2 * hosts - 1 - h] : [h]
    }

    /// Runs of the new context tokens host `h` encodes (its chunks of `cachedLength..<contextLength`,
    /// KV stores `.block(chunk)`); striped: one single-token run per token, all in store `.block(h)`.
    public func runs(onHost h: Int) -> [TokenRun] { runs(onHost: h, of: cachedLength..<contextLength) }

    /// Runs of the cached tokens whose K,V host `h` holds from the start, in the same stores as its
    /// new tokens (empty without a cached prefix; a chunk may have no cached token).
    public func cachedRuns(onHost h: Int) -> [TokenRun] {
        cachedLength == 0 ? [] : runs(onHost: h, of: 0..<cachedLength).filter { $0.count > 0 }
    }

    /// Every context token whose K,V host `h` holds once it has encoded its shard: cached, then new.
    public func keyRuns(onHost h: Int) -> [TokenRun] { cachedRuns(onHost: h) + runs(onHost: h) }

    /// Striped: host `h`'s first token in `tokens` (the first `t ≥ lowerBound` with `t mod hosts = h`).
    private func firstStriped(onHost h: Int, in tokens: Range<Int>) -> Int {
        tokens.lowerBound + ((h - tokens.lowerBound) % hosts + hosts) % hosts
    }

    private func runs(onHost h: Int, of tokens: Range<Int>) -> [TokenRun] {
        if partition == .striped {
            return stride(from: firstStriped(onHost: h, in: tokens), to: tokens.upperBound, by: hosts).map {
                TokenRun(tokens: $0..<($0 + 1), firstPosition: Int32($0), kv: .block(h))
            }
        }
        return chunks(onHost: h).map {
            let r = chunk($0, of: tokens)
            return TokenRun(tokens: r, firstPosition: Int32(r.lowerBound), kv: .block($0))
        }
    }

    /// The segment host `h` encodes in the ring prefill.
    public func shardSegment(_ h: Int) -> Segment { Segment(role: .shard(host: h), runs: runs(onHost: h)) }

    /// New context tokens host `h` encodes.
    public func newTokens(onHost h: Int) -> Int { count(onHost: h, of: cachedLength..<contextLength) }

    /// Context tokens whose K,V host `h` holds after its prefill: cached and new.
    public func contextTokens(onHost h: Int) -> Int {
        newTokens(onHost: h) + (cachedLength == 0 ? 0 : count(onHost: h, of: 0..<cachedLength))
    }

    private func count(onHost h: Int, of tokens: Range<Int>) -> Int {
        guard partition == .striped else { return runs(onHost: h, of: tokens).reduce(0) { $0 + $1.count } }
        let first = firstStriped(onHost: h, in: tokens)
        return first < tokens.upperBound ? (tokens.upperBound - first + hosts - 1) / hosts : 0
    }

    /// The host whose KV host `h` holds at ring step `step` (`0..<hosts`): `(h − step) mod hosts`.
    public func origin(host h: Int, step: Int) -> Int { ((h - step) % hosts + hosts) % hosts }

    /// Causally visible (query, key) pairs host `h` attends at ring step `step`, per layer
    /// (0 when the held block lies entirely in the host's future; such steps are skipped).
    public func visiblePairs(host h: Int, step: Int) -> Int { visiblePairs(queriesOf: h, keysOf: origin(host: h, step: step)) }

    /// Causally visible (query, key) pairs of host `q`'s new tokens against the K,V host `k` holds
    /// (cached and new), per layer: a ring step's work, and — when 0 — a pass-Q partial not sent.
    public func visiblePairs(queriesOf q: Int, keysOf k: Int) -> Int {
        VisiblePairs.count(queries: runs(onHost: q), keys: keyRuns(onHost: k))
    }

    /// Sum over all ring steps of ``visiblePairs(host:step:)``: host `h`'s attention work per layer.
    public func visiblePairs(host h: Int) -> Int { (0..<hosts).reduce(0) { $0 + visiblePairs(host: h, step: $1) } }

    /// The query segment (tokens/positions `contextLength..<contextLength+queryLength`).
    public var querySegment: Segment { PhaseTwoSegments.query(context: contextLength, query: queryLength) }

    /// Generated token `n`.
    public func generatedSegment(_ n: Int) -> Segment {
        PhaseTwoSegments.generated(n, context: contextLength, query: queryLength)
    }

    /// One program per host, index = host.
    public func programs(shape: ModelShape, granularity: Granularity = .perLayer) -> [RingHostProgram] {
        (0..<hosts).map { RingHostProgram(plan: self, host: $0, shape: shape, granularity: granularity) }
    }
}

/// Exact global attention on one host: the whole context as block 0, then the query, then
/// generated tokens, all with plain causal attention over everything before.
public struct GlobalPlan: Hashable, Sendable {
    public let contextLength: Int
    public let queryLength: Int

    /// - Throws: ``PlanError`` naming the field, its value and what was expected.
    public init(contextLength: Int, queryLength: Int) throws(PlanError) {
        guard contextLength >= 1 else {
            throw PlanError(.invalid(owner: "GlobalPlan", field: "contextLength", value: contextLength, expected: "at least 1 token"))
        }
        guard queryLength >= 1 else {
            throw PlanError(
                .invalid(
                    owner: "GlobalPlan", field: "queryLength", value: queryLength,
                    expected: "at least 1 token (the query produces the first logits)"))
        }
        self.contextLength = contextLength
        self.queryLength = queryLength
    }

    /// The context segment: tokens and positions `0..<contextLength`, KV `.block(0)`.
    public var contextSegment: Segment {
        Segment(role: .block(0), runs: [TokenRun(tokens: 0..<contextLength, firstPosition: 0, kv: .block(0))])
    }

    public var querySegment: Segment { PhaseTwoSegments.query(context: contextLength, query: queryLength) }

    public func generatedSegment(_ n: Int) -> Segment {
        PhaseTwoSegments.generated(n, context: contextLength, query: queryLength)
    }

    /// The single host's program.
    public func program(shape: ModelShape, granularity: Granularity = .perLayer) -> GlobalHostProgram {
        GlobalHostProgram(plan: self, shape: shape, granularity: granularity)
    }
}
