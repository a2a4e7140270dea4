/// DeepSpeed-Ulysses sequence parallelism for inference (Jacobs et al., arXiv 2309.14509;
/// `Docs/Ulysses.md`).
///
/// The context is split into `hosts` contiguous shards, as even as possible (the first
/// `contextLength % hosts` one token longer). Per layer every host computes Q, K, V of its shard for
/// all heads and sends head group `g` of them (`heads/hosts` query heads, `kvHeads/hosts` KV heads)
/// to host `g` — the first all-to-all; host `g` attends every shard's queries of its heads to the
/// whole sequence's K,V of its heads (exact causal attention), and sends each shard's output slice
/// back to its owner — the second all-to-all; the owner joins the `hosts` slices and finishes the layer.
/// Host `g` keeps the K,V of head group `g` for every token (store ``KVRef/heads(group:of:)``), so
/// decoding is head-parallel too: the query host computes each new token's Q, K, V, sends every other
/// host its head group, and joins the returned slices. Exact.
///
/// The degree is bounded by grouped-query attention: `hosts` must divide the model's KV heads (and
/// so its heads) — ``check(shape:)``.
public struct UlyssesPlan: Hashable, Sendable {
    public let contextLength: Int
    public let queryLength: Int
    public let hosts: Int

    /// - Throws: ``PlanError`` naming the field, its value and what was expected.
    public init(contextLength: Int, queryLength: Int, hosts: Int) throws(PlanError) {
        func fail(_ field: String, _ value: Int, _ expected: String) -> PlanError {
            PlanError(.invalid(owner: "UlyssesPlan", field: field, value: value, expected: expected))
        }
        guard hosts >= 1 else { throw fail("hosts", hosts, "at least 1") }
        guard queryLength >= 1 else {
            throw fail("queryLength", queryLength, "at least 1 token (the query produces the first logits)")
        }
        guard contextLength >= hosts else {
            throw fail("contextLength", contextLength, "at least hosts = \(hosts) tokens so that every shard holds a token")
        }
        self.contextLength = contextLength
        self.queryLength = queryLength
        self.hosts = hosts
    }

    /// Checks the degree against the model's heads: each host takes `heads/hosts` query heads and
    /// `kvHeads/hosts` KV heads, so `hosts` must divide `kvHeads`.
    /// - Throws: ``PlanError`` naming `hosts` and the bound.
    public func check(shape: ModelShape) throws(PlanError) {
        guard shape.kvHeads % hosts == 0 && shape.heads % hosts == 0 else {
            let divisors = (1...shape.kvHeads).filter { shape.kvHeads % $0 == 0 && shape.heads % $0 == 0 }
            throw PlanError(.invalid(
                owner: "UlyssesPlan", field: "hosts", value: hosts,
                expected: "a divisor of the model's \(shape.kvHeads) KV heads (\(divisors.map(String.init).joined(separator: ", "))): "
                    + "Ulysses splits attention by heads, and with grouped-query attention a KV head cannot be split"))
        }
    }

    /// The host that samples tokens: `hosts − 1`.
    public var queryHost: Int { hosts - 1 }

    /// Context tokens (and positions) of host `h`'s shard.
    public func shardTokens(_ h: Int) -> Range<Int> {
        precondition(h >= 0 && h < hosts, "UlyssesPlan: host \(h) out of 0..<\(hosts)")
        let base = contextLength / hosts, extra = contextLength % hosts
        let start = h * base + min(h, extra)
        return start..<(start + base + (h < extra ? 1 : 0))
    }

    /// The store of head group `g`'s K,V, on host `g`.
    public func store(_ g: Int) -> KVRef { .heads(group: g, of: hosts) }

    /// The segment host `h` encodes: its shard, whose K,V of head group `h` stay on it.
    public func shardSegment(_ h: Int) -> Segment {
        let r = shardTokens(h)
        return Segment(role: .shard(host: h), runs: [TokenRun(tokens: r, firstPosition: Int32(r.lowerBound), kv: store(h))])
    }

    /// The query segment, on the query host; its K,V of each head group go to that group's host.
    public var querySegment: Segment {
        Segment(role: .query, runs: [TokenRun(tokens: contextLength..<(contextLength + queryLength),
                                              firstPosition: Int32(contextLength), kv: store(queryHost))])
    }

    /// Generated token `n`.
    public func generatedSegment(_ n: Int) -> Segment {
        let t = contextLength + queryLength + n
        return Segment(role: .generated(n), runs: [TokenRun(tokens: t..<(t + 1), firstPosition: Int32(t), kv: store(queryHost))])
    }

    /// Context tokens whose K,V (one head group of `hosts`, every layer) each host holds after prefill.
    public var contextKVTokens: Int { contextLength }

    /// One program per host, index = host.
    public func programs(shape: ModelShape, granularity: Granularity = .perLayer) -> [UlyssesHostProgram] {
        (0..<hosts).map { UlyssesHostProgram(plan: self, host: $0, shape: shape) }
    }

    /// Bytes each host sends, by phase, for a run that samples `sampledTokens` (≥ 1) tokens:
    /// - prefill, host `h` with `n_h` shard tokens, per layer: its shard's Q,K,V of every other head
    ///   group (`n_h · (heads + 2·kvHeads)/hosts · headDim · e` to each of `hosts − 1` hosts), and
    ///   every other shard's output slice of its heads (`n_o · heads/hosts · headDim · e` to each owner);
    /// - query and generation: the query host sends each segment's Q,K,V head groups to the other
    ///   hosts and each of them returns the segment's output slice, per layer; plus 4 bytes per sampled
    ///   token from the query host to each other host.
    public func analyticTraffic(shape: ModelShape, sampledTokens: Int) -> TrafficTable {
        precondition(sampledTokens >= 1, "analyticTraffic: sampledTokens must be at least 1")
        var t = TrafficTable(hosts: hosts)
        guard hosts > 1 else { return t }
        let inputs = shape.headInputBytesPerTokenPerLayer(groups: hosts)
        let output = shape.headOutputBytesPerTokenPerLayer(groups: hosts)
        for h in 0..<hosts {
            let others = (0..<hosts).filter { $0 != h }.reduce(0) { $0 + shardTokens($1).count }
            t[h, .contextEncoding] = shape.layers * ((hosts - 1) * shardTokens(h).count * inputs + others * output)
        }
        for (phase, tokens) in [(Phase.queryEncoding, queryLength), (.generation, sampledTokens - 1)] {
            for h in 0..<hosts {
                t[h, phase] += shape.layers * tokens * (h == queryHost ? (hosts - 1) * inputs : output)
            }
        }
        t[queryHost, .generation] += (hosts - 1) * sampledTokens * ModelShape.tokenIDBytes
        return t
    }
}
