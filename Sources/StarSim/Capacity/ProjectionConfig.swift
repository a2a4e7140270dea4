import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// One point of a projection sweep: a model, a method, a cluster and a context length.
public struct ProjectionConfig: Sendable, Hashable {
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

    /// A lower bound on the simulated events of this configuration's run, from the programs' structure:
    /// ring methods compute one step per (host, source block, layer) during prefill; Star's phase 2 and
    /// ring decode compute on every host for every layer of every sampled token; global computes every
    /// layer of every token. With coarse granularity, only one event per layer group is assumed.
    public var minimumEvents: Int {
        let h = effectiveHosts, layers = granularity == .coarse ? 1 : model.shape.layers
        let decode = generateTokens * layers * (method == .global ? 1 : h)
        let prefill = method == .ring || method == .ringZigzag ? h * h * layers : h
        return decode + prefill
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
        let spec = MethodSpec(kind: method, blockSize: effectiveBlock, anchorSize: anchorSize)
        do {
            return try spec.plan(contextLength: contextLength, queryLength: queryLength, hosts: hosts,
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
