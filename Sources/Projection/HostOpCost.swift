import ClusterSpec
import DistributedAttention

/// What one op costs on one host of a method's run — the single answer to "how long does this op
/// take here", used by real runs (modeled timing) and projections alike. `CostModel.cost(of:)` is the
/// op's kernels; this adds what running the op on this host of this method implies beyond them:
///
/// - Intra-host transfers (pipeline hand-offs between layer slices, tensor-parallel all-reduces)
///   are serial with the op's kernels: each costs `intra latency + bytes / intra bandwidth`.
/// - Ring prefill (`method` is a ring with the ring exchange, an `attend` of the context phase): the attention is a ring
///   step, ``CostModel/ringStepCost(queries:keyTokens:visiblePairs:)``. When the device's ring
///   steps do not overlap the exchange (``RingStepParameters/overlapsTransfer`` false, a naive
///   ring), the attention of a block *received* from another host also charges the blocking
///   exchange of that block, `inter latency (incl. message overhead) + bytes / inter bandwidth`
///   with `bytes = keyTokens · kvBytesPerTokenPerLayer` (the ring message's size); the message
///   itself still crosses the link, so traffic counters are unchanged.
/// - Pass-Q ring prefill: the same, where the block that moved is a visiting Q block
///   (`bytes = queries · queryBytesPerTokenPerLayer`): an attend of another host's Q block.
/// - Every other op: ``CostModel/duration(of:)``.
public struct HostOpCost: Sendable {
    public let costModel: CostModel
    public let intraHostLink: LinkProfile
    public let interHostLink: LinkProfile
    /// The KV blocks this host holds itself when `method` is a pass-KV ring (nil otherwise).
    let localRingBlocks: Set<KVRef>?
    /// This host when `method` is a pass-Q ring (nil otherwise): a context attend of another host's
    /// Q block is a ring step whose blocking exchange moved that Q block.
    let passQHost: Int?

    public init(costModel: CostModel, method: AttentionMethod, host: Int, intraHostLink: LinkProfile,
                interHostLink: LinkProfile) {
        self.costModel = costModel
        self.intraHostLink = intraHostLink
        self.interHostLink = interHostLink
        let exchange: RingPlan.Exchange?
        if case .ring(let plan) = method, plan.hosts > 1 { exchange = plan.exchange } else { exchange = nil }
        // All-gather CP attends the gathered blocks with the local kernel: neither.
        if case .ring(let plan) = method, exchange == .ring {
            localRingBlocks = Set(plan.chunks(onHost: host).map { KVRef.block($0) })
        } else {
            localRingBlocks = nil
        }
        passQHost = exchange == .passQ ? host : nil
    }

    /// Modeled duration of `op` on this host (integer nanoseconds, rounded up).
    public func duration(of op: Op) -> SimDuration {
        var d: SimDuration
        if let local = localRingBlocks, case .attend(_, let q, let keys, let pairs, let keyTokens) = op,
           q.phase == .contextEncoding {
            d = .seconds(costModel.ringStepCost(queries: q.tokenCount, keyTokens: keyTokens, visiblePairs: pairs).seconds)
            if !costModel.ringSteps.overlapsTransfer, !keys.allSatisfy(local.contains) {
                let bytes = Double(keyTokens * costModel.shape.kvBytesPerTokenPerLayer)
                d = d + interHostLink.latency + .seconds(bytes / interHostLink.bandwidthBytesPerSecond)
            }
        } else if let me = passQHost, case .attend(_, let q, _, let pairs, let keyTokens) = op,
                  q.phase == .contextEncoding {
            d = .seconds(costModel.ringStepCost(queries: q.tokenCount, keyTokens: keyTokens, visiblePairs: pairs).seconds)
            if !costModel.ringSteps.overlapsTransfer, q.role != .shard(host: me) {
                let bytes = Double(q.tokenCount * costModel.shape.queryBytesPerTokenPerLayer)
                d = d + interHostLink.latency + .seconds(bytes / interHostLink.bandwidthBytesPerSecond)
            }
        } else {
            d = costModel.duration(of: op)
        }
        for t in costModel.intraHostTransfers(of: op) where t.count > 0 {
            let one = intraHostLink.latency + .seconds(Double(t.bytes) / intraHostLink.bandwidthBytesPerSecond)
            d = d + one * Int64(t.count)
        }
        return d
    }
}
