import ClusterSpec
import DistributedAttention

/// Which method's memory to model, with its plan.
public enum MemoryMethod: Sendable, Hashable {
    case star(StarPlan)
    case ring(RingPlan)
    case global(GlobalPlan)
}

/// Modeling choices of ``MemoryModel``.
public struct MemoryOptions: Sendable, Hashable {
    /// Tokens generated after the query (their KV is appended on the query host).
    public var generatedTokens: Int
    /// HF transformers' `LlamaForCausalLM` prefill materialises fp32 logits `[tokens, vocab]` for every
    /// prompt token (plus a bf16 copy); when true, every prefill segment pays `tokens · vocab · (4 + bytes)`.
    /// False (default): only the last row's logits, as the host programs compute them.
    public var fullSequenceLogits: Bool
    /// True (default, as the reference implementation): the anchor's KV is held for every layer while a
    /// Star block is encoded. False: only one layer's anchor KV at a time (the per-layer programs drop it
    /// after each layer's attend).
    public var anchorKVAllLayers: Bool

    public init(generatedTokens: Int = 0, fullSequenceLogits: Bool = false, anchorKVAllLayers: Bool = true) {
        self.generatedTokens = generatedTokens
        self.fullSequenceLogits = fullSequenceLogits
        self.anchorKVAllLayers = anchorKVAllLayers
    }
}

/// Bytes held at a peak, by kind.
public struct MemoryBreakdown: Sendable, Hashable, CustomStringConvertible {
    public var weights: Int64 = 0
    /// K,V stores (context blocks, appended query/generated tokens, received ring blocks kept).
    public var kvCache: Int64 = 0
    /// The anchor's K,V while a Star block is encoded.
    public var anchorKV: Int64 = 0
    /// Transient activations of the segment being processed (one layer at a time; flash attention,
    /// no `[queries, keys]` matrix).
    public var activations: Int64 = 0
    /// Buffers for messages: ring K/V blocks in flight, phase-2 partials gathered.
    public var communication: Int64 = 0
    /// Full-sequence logits (only with ``MemoryOptions/fullSequenceLogits``).
    public var logits: Int64 = 0

    public var total: Int64 { weights + kvCache + anchorKV + activations + communication + logits }

    public init() {}

    public var description: String {
        func gb(_ b: Int64) -> String { String(format: "%.2f GB", Double(b) / 1e9) }
        return "\(gb(total)) (weights \(gb(weights)), KV \(gb(kvCache)), anchor KV \(gb(anchorKV)), "
            + "activations \(gb(activations)), comm \(gb(communication)), logits \(gb(logits)))"
    }
}

/// One host's memory at its peaks.
public struct HostMemory: Sendable, Hashable, CustomStringConvertible {
    public var host: Int
    /// Peak while encoding the context (Star phase 1, ring prefill, global prefill), whole host.
    public var contextPeak: MemoryBreakdown
    /// Peak during query encoding and generation, whole host.
    public var decodePeak: MemoryBreakdown
    /// The busiest GPU's peak over both phases, bytes.
    public var busiestGPUBytes: Int64
    /// Capacity of one GPU, bytes.
    public var gpuCapacityBytes: Int64
    /// GPUs of the host.
    public var gpus: Int

    /// Host peak over both phases, bytes.
    public var peakBytes: Int64 { max(contextPeak.total, decodePeak.total) }
    /// `gpus · gpuCapacityBytes`.
    public var hostCapacityBytes: Int64 { Int64(gpus) * gpuCapacityBytes }
    /// True when the busiest GPU's peak fits its capacity (which implies the host total fits).
    public var fits: Bool { busiestGPUBytes <= gpuCapacityBytes && peakBytes <= hostCapacityBytes }

    public var description: String {
        String(
            format: "host%d: peak %.2f GB of %.2f GB (%d GPU), busiest GPU %.2f GB of %.2f GB%@\n  context: %@\n  decode:  %@",
            host, Double(peakBytes) / 1e9, Double(hostCapacityBytes) / 1e9, gpus, Double(busiestGPUBytes) / 1e9,
            Double(gpuCapacityBytes) / 1e9, fits ? "" : " — OUT OF MEMORY", contextPeak.description, decodePeak.description)
    }
}

/// Per-host memory of a method; out-of-memory hosts are listed with their numbers.
public struct MemoryReport: Sendable, Hashable, CustomStringConvertible {
    public var hosts: [HostMemory]
    public var fits: Bool { hosts.allSatisfy(\.fits) }
    public var outOfMemory: [HostMemory] { hosts.filter { !$0.fits } }
    public var description: String { hosts.map(\.description).joined(separator: "\n") }
}

/// Per-host memory for Star, Ring and Global attention: weights, KV, anchor KV, activations,
/// communication buffers, optional full-sequence logits. Pure arithmetic on shapes and plans.
///
/// Per GPU: `.pipeline` — GPU g holds its layer slice's weights and KV (embedding on GPU 0, output
/// head and full logits on the last GPU), and the activations of the layer it runs;
/// `.tensorParallel` — weights, KV, communication buffers, logits and all activations except the
/// replicated residual stream `[tokens, hidden]` are split G ways.
public struct MemoryModel: Sendable {
    public let model: ModelSpec
    public let gpuCapacityBytes: Int64
    public let gpusPerHost: Int
    public let combine: ParallelCombine
    public let options: MemoryOptions

    public init(
        model: ModelSpec, device: DeviceProfile, gpusPerHost: Int = 1, combine: ParallelCombine = .pipeline,
        options: MemoryOptions = MemoryOptions()
    ) {
        precondition(gpusPerHost >= 1, "MemoryModel: gpusPerHost must be at least 1")
        self.model = model
        self.gpuCapacityBytes = device.memoryCapacityBytes
        self.gpusPerHost = gpusPerHost
        self.combine = combine
        self.options = options
    }

    private var s: ModelShape { model.shape }
    private var e: Int64 { Int64(s.bytesPerElement) }

    /// Transient activations of one layer over `tokens` rows: residual + normed input, then the larger
    /// of the attention stage (Q, K, V, output, fp32 lse) and the MLP stage (gate, up, product).
    public func activationBytes(tokens n: Int) -> Int64 {
        let n = Int64(n), h = Int64(s.hidden), qd = Int64(s.heads * s.headDim), kvd = Int64(s.kvHeads * s.headDim)
        let base = 2 * n * h * e
        let attention = n * (2 * qd + 2 * kvd) * e + n * Int64(s.heads) * 4
        let mlp = 3 * n * Int64(s.ffn) * e
        return base + max(attention, mlp)
    }

    /// K,V of `tokens` tokens over all layers.
    public func kvBytes(tokens: Int) -> Int64 { Int64(tokens) * model.kvBytesPerToken }

    private func logitsBytes(tokens: Int) -> Int64 {
        options.fullSequenceLogits ? Int64(tokens) * Int64(s.vocab) * (4 + e) : 0
    }

    /// Host memory for `method`.
    public func report(_ method: MemoryMethod) -> MemoryReport {
        switch method {
        case .star(let p): return MemoryReport(hosts: (0..<p.hosts).map { star(p, host: $0) })
        case .ring(let p): return MemoryReport(hosts: (0..<p.hosts).map { ring(p, host: $0) })
        case .global(let p): return MemoryReport(hosts: [global(p)])
        }
    }

    /// Phase-2 memory of one host; `gathered` = other hosts' partials it holds at once (gather at the
    /// query host or all-gather: hosts − 1; tree: its children).
    private func decode(contextTokens: Int, isQueryHost: Bool, queryLength q: Int, gathered: Int) -> MemoryBreakdown {
        var b = MemoryBreakdown()
        b.weights = model.weightBytes
        b.kvCache = kvBytes(tokens: contextTokens + (isQueryHost ? q + options.generatedTokens : 0))
        b.activations = activationBytes(tokens: q)
        b.communication = Int64(gathered) * Int64(q) * Int64(s.partialBytesPerToken)
        b.logits = logitsBytes(tokens: q)
        return b
    }

    /// Partials host `h` holds at once in phase 2 under `pattern`.
    private func gathered(_ pattern: Phase2Pattern, host h: Int, hosts: Int, queryHost: Int) -> Int {
        switch pattern {
        case .gatherBroadcast: return h == queryHost ? hosts - 1 : 0
        case .allGather: return hosts - 1
        case .tree: return hosts > 1 ? Phase2Tree(participants: Array(0..<hosts), root: queryHost).children(of: h).count : 0
        }
    }

    func star(_ p: StarPlan, host h: Int) -> HostMemory {
        var c = MemoryBreakdown()
        c.weights = model.weightBytes
        c.kvCache = kvBytes(tokens: p.contextTokens(onHost: h))
        let blocks = p.blocks(onHost: h)
        let anchored = blocks.contains { p.anchorRun($0) != nil }
        if anchored {
            c.anchorKV = options.anchorKVAllLayers
                ? kvBytes(tokens: p.anchorSize) : Int64(p.anchorSize) * Int64(s.kvBytesPerTokenPerLayer)
        }
        let segment = blocks.map { p.encodingSegment($0).tokenCount }.max() ?? 0
        c.activations = activationBytes(tokens: segment)
        c.logits = logitsBytes(tokens: segment)
        let d = decode(
            contextTokens: p.contextTokens(onHost: h), isQueryHost: h == p.queryHost, queryLength: p.queryLength,
            gathered: gathered(p.phase2, host: h, hosts: p.hosts, queryHost: p.queryHost))
        return host(h, context: c, decode: d)
    }

    func ring(_ p: RingPlan, host h: Int) -> HostMemory {
        let own = p.contextTokens(onHost: h)  // cached + new K,V
        let encoded = p.newTokens(onHost: h)
        let keepsAll = p.decode == .lastHost && h == p.queryHost
        var c = MemoryBreakdown()
        c.weights = model.weightBytes
        c.kvCache = kvBytes(tokens: keepsAll ? p.contextLength : own)
        c.activations = activationBytes(tokens: encoded) + Int64(encoded) * Int64(s.heads * s.headDim + s.heads) * 4  // fp32 accumulators
        if p.hosts > 1 {
            // Ring: the block being attended and the one arriving, for one layer; all-gather: every
            // host's block of the layer may be here at once; pass-Q: two visiting Q blocks.
            switch p.exchange {
            case .ring, .allGather:
                let largest = (0..<p.hosts).map { p.contextTokens(onHost: $0) }.max() ?? 0
                let held = p.exchange == .ring ? 2 : p.hosts
                c.communication = Int64(held) * Int64(largest) * Int64(s.kvBytesPerTokenPerLayer)
            case .passQ:
                let largest = (0..<p.hosts).map { p.newTokens(onHost: $0) }.max() ?? 0
                c.communication = 2 * Int64(largest) * Int64(s.queryBytesPerTokenPerLayer)
            }
        }
        c.logits = logitsBytes(tokens: encoded)
        let d: MemoryBreakdown
        switch p.decode {
        case .phase2:
            d = decode(
                contextTokens: own, isQueryHost: h == p.queryHost, queryLength: p.queryLength,
                gathered: gathered(p.phase2, host: h, hosts: p.hosts, queryHost: p.queryHost))
        case .lastHost:
            d = decode(contextTokens: keepsAll ? p.contextLength : own, isQueryHost: keepsAll, queryLength: p.queryLength, gathered: 0)
        }
        return host(h, context: c, decode: d)
    }

    func global(_ p: GlobalPlan) -> HostMemory {
        var c = MemoryBreakdown()
        c.weights = model.weightBytes
        c.kvCache = kvBytes(tokens: p.contextLength)
        c.activations = activationBytes(tokens: p.contextLength)
        c.logits = logitsBytes(tokens: p.contextLength)
        let d = decode(contextTokens: p.contextLength, isQueryHost: true, queryLength: p.queryLength, gathered: 0)
        return host(0, context: c, decode: d)
    }

    private func host(_ h: Int, context: MemoryBreakdown, decode: MemoryBreakdown) -> HostMemory {
        HostMemory(
            host: h, contextPeak: context, decodePeak: decode,
            busiestGPUBytes: max(busiestGPU(context), busiestGPU(decode)), gpuCapacityBytes: gpuCapacityBytes,
            gpus: gpusPerHost)
    }

    /// The largest per-GPU share of a host breakdown.
    public func busiestGPU(_ b: MemoryBreakdown) -> Int64 {
        let g = Int64(gpusPerHost)
        guard gpusPerHost > 1 else { return b.total }
        switch combine {
        case .tensorParallel:
            return (b.weights + b.kvCache + b.anchorKV + b.communication + b.logits + b.activations) / g
                + residualShare(b)
        case .pipeline:
            let layers = Int64(s.layers)
            var worst: Int64 = 0
            let base = s.layers / gpusPerHost, extra = s.layers % gpusPerHost
            for gpu in 0..<gpusPerHost {
                let slice = Int64(base + (gpu < extra ? 1 : 0))
                var bytes = slice * model.weightBytesPerLayer
                if gpu == 0 { bytes += Int64((Double(model.embeddingParameters) * model.weightBytesPerParameter).rounded()) }
                if gpu == gpusPerHost - 1 {
                    bytes += Int64((Double(model.headParameters) * model.weightBytesPerParameter).rounded()) + b.logits
                }
                bytes += (b.kvCache + b.anchorKV) * slice / layers
                bytes += b.activations + b.communication
                worst = max(worst, bytes)
            }
            return worst
        }
    }

    /// Tensor parallel: the residual stream is replicated, so each GPU holds it in full (the
    /// `(G−1)/G` part not counted by the even split).
    private func residualShare(_ b: MemoryBreakdown) -> Int64 {
        // The residual + normed input are 2/(2 + stage) of the activations; approximate by the
        // per-token hidden rows: activations hold `2·n·hidden·e` of replicated data.
        guard b.activations > 0 else { return 0 }
        let g = Int64(gpusPerHost)
        let perTokenReplicated = 2 * Int64(s.hidden) * e
        let perTokenTotal = activationBytes(tokens: 1)
        let replicated = b.activations * perTokenReplicated / perTokenTotal
        return replicated - replicated / g
    }
}
