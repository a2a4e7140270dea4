import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// One point of a projection sweep: a model, a method, a cluster and a context length.
public struct ProjectionConfig: Sendable, Hashable, Codable {
    public var model: ModelSpec
    public var method: MethodKind
    public var contextLength: Int
    /// Query tokens (question + chat suffix) encoded after the context; default 64.
    public var queryLength: Int
    /// Hosts used by star and ring (global always runs on 1 host).
    public var hosts: Int
    public var gpusPerHost: Int
    public var device: String
    public var intraHostLink: String
    public var interHostLink: String
    public var combine: ParallelCombine
    /// Star block size; nil = ``defaultBlock(contextLength:hosts:)``.
    public var blockSize: Int?
    /// Star anchor size; nil = the block size.
    public var anchorSize: Int?
    /// Tokens generated after the first (the first comes from the query): `generate` samples in total.
    public var generateTokens: Int
    public var granularity: Granularity
    /// Directory of user profiles (`ProfileCatalog(userDirectory:)`), nil for built-ins only.
    public var profileDirectory: String?
    /// How phase 2 combines partials (Star, and Ring's phase-2 decoding); nil = gather–broadcast.
    public var phase2: Phase2Pattern?
    /// Faults during the run (`Docs/Faults.md`); those naming hosts this configuration does not have
    /// (global runs on one host) do not apply to it. nil = none.
    public var faults: FaultPlan?
    /// Faults drawn at random over trials; nil = none.
    public var randomFaults: RandomFaults?
    /// Leading tokens of the context whose K,V the hosts hold from an earlier turn (a persistent-KV
    /// prefill of the rest; ring methods only); nil = none.
    public var cachedLength: Int?

    public init(
        model: ModelSpec, method: MethodKind, contextLength: Int, queryLength: Int = 64, hosts: Int,
        gpusPerHost: Int = 1, device: String = "a100-80gb", intraHostLink: String = "nvlink-a100",
        interHostLink: String = "ib-hdr", combine: ParallelCombine = .pipeline, blockSize: Int? = nil,
        anchorSize: Int? = nil, generateTokens: Int = 1, granularity: Granularity = .perLayer,
        profileDirectory: String? = nil
    ) {
        self.model = model
        self.method = method
        self.contextLength = contextLength
        self.queryLength = queryLength
        self.hosts = hosts
        self.gpusPerHost = gpusPerHost
        self.device = device
        self.intraHostLink = intraHostLink
        self.interHostLink = interHostLink
        self.combine = combine
        self.blockSize = blockSize
        self.anchorSize = anchorSize
        self.generateTokens = generateTokens
        self.granularity = granularity
        self.profileDirectory = profileDirectory
    }

    /// The paper's block rule: `min(⌈L/H⌉, 32K)`. With 4 hosts up to 128K this is L/4 (the paper's
    /// "block = L/4"); beyond 128K it is fixed at 32K (several blocks per host); 70B at 128K on 8 hosts
    /// gives 16K, as in the paper's table.
    public static func defaultBlock(contextLength: Int, hosts: Int) -> Int {
        min((contextLength + max(hosts, 1) - 1) / max(hosts, 1), 32 * 1024)
    }

    /// The simulated events this configuration's run will handle, estimated from the programs'
    /// structure with factors measured on the engine (Llama-3.1-8B at 64K, 1–32 hosts, generate 1 and
    /// 101; each factor rounded up, so the estimate is at or above the real count):
    /// - prefill: global `7·layers`; Star `9·layers·hosts`; ring `layers·(1.6·hosts² + 8·hosts)`; pass-Q ring `layers·(3.2·hosts² + 8·hosts)` (a partial returns per visit; zigzag
    ///   measured 3.1·hosts² on 16–32 hosts); Ulysses `layers·(4·hosts² + 8·hosts)`; APB Star's plus
    ///   `3·layers·hosts²` (its passing blocks) — `EventEstimateTests` checks these three;
    /// - each token after the first: global `3.2·layers` (3.2 with coarse granularity); Star and ring
    ///   (phase 2 on every host) `5·layers·hosts`.
    public var estimatedEvents: Int {
        let h = Double(effectiveHosts), layers = Double(model.shape.layers)
        let prefill: Double
        let perToken: Double
        switch method {
        case .global:
            prefill = 7 * layers
            perToken = granularity == .coarse ? 3.2 : 3.2 * layers
        case .ring, .ringZigzag, .ringStriped, .allGather, .allGatherZigzag, .allGatherStriped:
            prefill = layers * (1.6 * h * h + 8 * h)
            perToken = 5 * layers * h
        case .ringPassQ, .ringZigzagPassQ, .ringStripedPassQ:
            prefill = layers * (3.2 * h * h + 8 * h)
            perToken = 5 * layers * h
        case .ulysses, .usp:
            prefill = layers * (4 * h * h + 8 * h)
            perToken = 5 * layers * h
        case .star, .starNoAnchor, .starPrevious, .apb:
            prefill = 9 * layers * h + (method == .apb ? 3 * layers * h * h : 0)
            perToken = 5 * layers * h
        }
        let total = 256 + prefill + Double(max(generateTokens - 1, 0)) * perToken
        return total >= 9e18 ? .max : Int(total.rounded(.up))
    }

    /// Runs this configuration makes: the fault-free one, one with `faults`, one per random trial.
    public var runs: Int { 1 + (faults == nil ? 0 : 1) + (randomFaults?.trials ?? 0) }

    /// ``estimatedEvents`` × ``runs``, what the sweep's event budget counts. (A host loss that
    /// restarts every host replays the run's events once more; the estimate does not count that.)
    public var estimatedWork: Int {
        let (product, overflow) = estimatedEvents.multipliedReportingOverflow(by: runs)
        return overflow ? .max : product
    }

    /// Hosts the method actually uses (1 for global).
    public var effectiveHosts: Int { method == .global ? 1 : hosts }

    /// Star block size in use (nil for other methods).
    public var effectiveBlock: Int? {
        method.isStar ? (blockSize ?? Self.defaultBlock(contextLength: contextLength, hosts: hosts)) : nil
    }

    /// The plan, validated.
    /// - Throws: ``StarSimError`` saying why the context cannot be split.
    public func attentionMethod() throws(StarSimError) -> AttentionMethod {
        guard hosts >= 1 else { throw .invalid("hosts", "\(hosts)", "at least 1 host") }
        guard gpusPerHost >= 1 else { throw .invalid("gpus-per-host", "\(gpusPerHost)", "at least 1 GPU per host") }
        if let problem = CostModel.splitProblem(gpusPerHost: gpusPerHost, combine: combine, shape: model.shape) {
            throw .invalid("gpus-per-host", "\(model.name): \(problem)")
        }
        var spec = MethodSpec(kind: method, blockSize: effectiveBlock, anchorSize: anchorSize,
                              phase2: phase2 ?? .gatherBroadcast)
        if let cached = cachedLength, cached > 0 {
            guard case .ring(var o) = spec else { throw .invalid("cached", CachedPrefix.unsupported(by: method) ?? "") }
            o.cachedLength = cached
            spec = .ring(o)
        }
        do {
            return try spec.plan(contextLength: contextLength, queryLength: queryLength, hosts: hosts, shape: model.shape,
                                 defaultBlock: Self.defaultBlock)
        } catch {
            throw StarSimError.failed(
                "\(method.rawValue) cannot split \(TokenCount.format(contextLength)) tokens over \(hosts) hosts: \(error)")
        }
    }

    /// The cluster, resolved from profile names.
    /// - Throws: ``StarSimError`` listing the known devices / links.
    public func clusterSetup() throws(StarSimError) -> ClusterSetup {
        do {
            var s = try ClusterSetup.named(
                hosts: effectiveHosts, gpusPerHost: gpusPerHost, device: device, intraHostLink: intraHostLink,
                interHostLink: interHostLink, shape: .fullyConnected, combine: combine,
                catalog: ProfileCatalog(userDirectory: profileDirectory))
            s.granularity = granularity
            return s
        } catch {
            throw StarSimError.failed(("\(error)"))
        }
    }
}
