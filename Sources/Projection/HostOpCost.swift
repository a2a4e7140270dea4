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
    /// What travels in this host's ring steps (nil when `method` is not a ring of more than one host,
    /// or is all-gather CP, which attends the gathered blocks with the local kernel).
    let ringSteps: RingSteps?

    /// The block a ring step attends that came from another host: K,V blocks (pass-KV; the host's own
    /// blocks are these stores) or Q blocks (pass-Q; this host's own Q block is its shard).
    enum RingSteps: Sendable {
        case passKV(localBlocks: Set<KVRef>)
        case passQ(host: Int)

        /// Bytes of the block that moved for a ring-step attend, or nil when it is this host's own.
        func movedBytes(queries q: Segment, keys: [KVRef], keyTokens: Int, shape: ModelShape) -> Int? {
            switch self {
            case .passKV(let local):
                return keys.allSatisfy(local.contains) ? nil : keyTokens * shape.kvBytesPerTokenPerLayer
            case .passQ(let host):
                return q.role == .shard(host: host) ? nil : q.tokenCount * shape.queryBytesPerTokenPerLayer
            }
        }
    }

    public init(costModel: CostModel, method: AttentionMethod, host: Int, intraHostLink: LinkProfile,
                interHostLink: LinkProfile) {
        self.costModel = costModel
        self.intraHostLink = intraHostLink
        self.interHostLink = interHostLink
        guard case .ring(let plan) = method, plan.hosts > 1 else {
            ringSteps = nil
            return
        }
        switch plan.exchange {
        case .ring: ringSteps = .passKV(localBlocks: Set(plan.chunks(onHost: host).map { KVRef.block($0) }))
        case .passQ: ringSteps = .passQ(host: host)
        case .allGather: ringSteps = nil
        }
    }

    /// Modeled duration of `op` on this host (integer nanoseconds, rounded up).
    public func duration(of op: Op) -> SimDuration {
        var d: SimDuration
        if let steps = ringSteps, case .attend(_, let q, let keys, let pairs, let keyTokens) = op,
           q.phase == .contextEncoding {
            d = .seconds(costModel.ringStepCost(queries: q.tokenCount, keyTokens: keyTokens, visiblePairs: pairs).seconds)
            if !costModel.ringSteps.overlapsTransfer,
               let bytes = steps.movedBytes(queries: q, keys: keys, keyTokens: keyTokens, shape: costModel.shape) {
                d = d + interHostLink.latency + .seconds(Double(bytes) / interHostLink.bandwidthBytesPerSecond)
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
