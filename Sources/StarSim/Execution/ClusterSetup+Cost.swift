import Cluster
import DistributedAttention
import Projection

extension ClusterSetup {
    /// The modeled duration of every op that host `host` of `method` runs: ``CostModel`` time plus
    /// what the op implies beyond its kernels. One function for real and projected runs.
    ///
    /// - Intra-host transfers (pipeline hand-offs between layer slices, tensor-parallel all-reduces)
    ///   are serial with the op's kernels: each costs `intra latency + bytes / intra bandwidth`.
    /// - Ring prefill (`method` is a ring, an `attend` of the context phase): the attention is a ring
    ///   step, ``CostModel/ringStepCost(queries:keyTokens:visiblePairs:)``. When the device's ring
    ///   steps do not overlap the exchange (``RingStepParameters/overlapsTransfer`` false, a naive
    ///   ring), the attention of a block *received* from another host also charges the blocking
    ///   exchange of that block, `inter latency (incl. message overhead) + bytes / inter bandwidth`
    ///   with `bytes = keyTokens · kvBytesPerTokenPerLayer` (the ring message's size); the message
    ///   itself still crosses the link, so traffic counters are unchanged.
    /// - Every other op: ``CostModel/duration(of:)``.
    public func opCost(shape: ModelShape, method: AttentionMethod, host: Int) -> @Sendable (Op) -> SimDuration {
        let costModel = self.costModel(shape: shape)
        let intra = topology.intraHostLink
        let inter = topology.interHostLink
        var localBlocks: Set<KVRef>?
        if case .ring(let plan) = method { localBlocks = Set(plan.chunks(onHost: host).map { KVRef.block($0) }) }
        let ringLocal = localBlocks
        let blockingExchange = !costModel.ringSteps.overlapsTransfer
        return { op in
            var d: SimDuration
            if let local = ringLocal, case .attend(_, let q, let keys, let pairs, let keyTokens) = op, q.phase == .contextEncoding {
                d = .seconds(costModel.ringStepCost(queries: q.tokenCount, keyTokens: keyTokens, visiblePairs: pairs).seconds)
                if blockingExchange, !keys.allSatisfy(local.contains) {
                    let bytes = Double(keyTokens * shape.kvBytesPerTokenPerLayer)
                    d = d + inter.latency + .seconds(bytes / inter.bandwidthBytesPerSecond)
                }
            } else {
                d = costModel.duration(of: op)
            }
            for t in costModel.intraHostTransfers(of: op) where t.count > 0 {
                let one = intra.latency + .seconds(Double(t.bytes) / intra.bandwidthBytesPerSecond)
                d = d + one * Int64(t.count)
            }
            return d
        }
    }
}
