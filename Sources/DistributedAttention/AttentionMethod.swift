/// Any of the methods, for code that treats them uniformly (scenarios, sweeps).
public enum AttentionMethod: Hashable, Sendable, CustomStringConvertible {
    case star(StarPlan)
    case ring(RingPlan)
    case global(GlobalPlan)
    case ulysses(UlyssesPlan)
    case apb(APBPlan)

    /// Number of hosts the method runs on.
    public var hosts: Int {
        switch self {
        case .star(let p): return p.hosts
        case .ring(let p): return p.hosts
        case .ulysses(let p): return p.hosts
        case .apb(let p): return p.hosts
        case .global: return 1
        }
    }

    public var contextLength: Int {
        switch self {
        case .star(let p): return p.contextLength
        case .ring(let p): return p.contextLength
        case .ulysses(let p): return p.contextLength
        case .apb(let p): return p.contextLength
        case .global(let p): return p.contextLength
        }
    }

    public var queryLength: Int {
        switch self {
        case .star(let p): return p.queryLength
        case .ring(let p): return p.queryLength
        case .ulysses(let p): return p.queryLength
        case .apb(let p): return p.queryLength
        case .global(let p): return p.queryLength
        }
    }

    /// The host that samples tokens.
    public var queryHost: Int {
        switch self {
        case .star(let p): return p.queryHost
        case .ring(let p): return p.queryHost
        case .ulysses(let p): return p.queryHost
        case .apb(let p): return p.queryHost
        case .global: return 0
        }
    }

    /// One program per host, index = host.
    public func programs(shape: ModelShape, granularity: Granularity = .perLayer) -> [any HostProgram] {
        switch self {
        case .star(let p): return p.programs(shape: shape, granularity: granularity)
        case .ring(let p): return p.programs(shape: shape, granularity: granularity)
        case .ulysses(let p): return p.programs(shape: shape, granularity: granularity)
        case .apb(let p): return p.programs(shape: shape, granularity: granularity)
        case .global(let p): return [p.program(shape: shape, granularity: granularity)]
        }
    }

    /// Bytes each host sends, by phase (see the plans' `analyticTraffic`). Global sends nothing.
    public func analyticTraffic(shape: ModelShape, sampledTokens: Int) -> TrafficTable {
        switch self {
        case .star(let p): return p.analyticTraffic(shape: shape, sampledTokens: sampledTokens)
        case .ring(let p): return p.analyticTraffic(shape: shape, sampledTokens: sampledTokens)
        case .ulysses(let p): return p.analyticTraffic(shape: shape, sampledTokens: sampledTokens)
        case .apb(let p): return p.analyticTraffic(shape: shape, sampledTokens: sampledTokens)
        case .global: return TrafficTable(hosts: 1)
        }
    }

    /// Context tokens whose KV (every layer) `host` holds once the prefill is done: its blocks (Star),
    /// its chunks (Ring; the whole context on the last host with `.lastHost` decoding), everything
    /// (Global), one head group's K,V of its ring group's tokens — every token in the decoding ring
    /// group (Ulysses, USP). Transients are not included: during Star phase 1 one anchor's KV for one layer; during
    /// the ring one received block per layer (two in flight at most when forwarding overlaps).
    /// The query host adds `queryLength + generated` tokens of appended KV during phase 2.
    public func contextKVTokens(host: Int) -> Int {
        switch self {
        case .star(let p): return p.contextTokens(onHost: host)
        case .ring(let p):
            if p.decode == .lastHost && host == p.queryHost { return p.contextLength }
            return p.contextTokens(onHost: host)
        case .ulysses(let p): return p.contextKVTokens(host: host)
        case .apb(let p): return p.star.contextTokens(onHost: host)
        case .global(let p): return p.contextLength
        }
    }

    /// Context tokens `0..<cachedLength` are cached before the run starts — a ring's cached prefix
    /// (``RingPlan/cachedLength``); 0 for every other method.
    public var cachedLength: Int {
        if case .ring(let p) = self { return p.cachedLength }
        return 0
    }

    /// Context tokens whose K,V `host` holds before the run starts (its share of ``cachedLength``).
    public func cachedRuns(host: Int) -> [TokenRun] {
        if case .ring(let p) = self { return p.cachedRuns(onHost: host) }
        return []
    }

    /// Checks the plan against the model it runs (Ulysses' degree against the KV heads).
    /// - Throws: ``PlanError`` naming the field and the bound.
    public func check(shape: ModelShape) throws(PlanError) {
        if case .ulysses(let p) = self { try p.check(shape: shape) }
    }

    public var description: String {
        switch self {
        case .star(let p):
            return "star(L \(p.contextLength), q \(p.queryLength), block \(p.blockSize), anchor \(p.anchorSize) \(p.anchorSource), hosts \(p.hosts), query host \(p.queryHost), \(p.phase2))"
        case .ring(let p):
            return "ring(L \(p.contextLength), q \(p.queryLength), hosts \(p.hosts), \(p.partition), decode \(p.decode), \(p.phase2)"
                + (p.exchange == .ring ? "" : ", exchange \(p.exchange.rawValue)")
                + (p.cachedLength == 0 ? ")" : ", cached \(p.cachedLength))")
        case .global(let p):
            return "global(L \(p.contextLength), q \(p.queryLength))"
        case .ulysses(let p):
            if p.ringDegree == 1 { return "ulysses(L \(p.contextLength), q \(p.queryLength), hosts \(p.hosts))" }
            return "usp(L \(p.contextLength), q \(p.queryLength), hosts \(p.hosts) = Ulysses \(p.headDegree) × ring \(p.ringDegree))"
        case .apb(let p):
            return "apb(L \(p.contextLength), q \(p.queryLength), block \(p.star.blockSize), anchor \(p.anchorSize), passing \(p.passingSize) \(p.selection.rawValue), hosts \(p.hosts), \(p.star.phase2))"
        }
    }
}
