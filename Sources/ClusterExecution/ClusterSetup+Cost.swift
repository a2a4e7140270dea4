import Cluster
import DistributedAttention
import Projection

extension ClusterSetup {
    /// The cost of every op that host `host` of `method` runs, with this cluster's device and links:
    /// ``HostOpCost`` (the one home of an op's cost, for real and projected runs).
    public func opCost(shape: ModelShape, method: AttentionMethod, host: Int) -> @Sendable (Op) -> SimDuration {
        let cost = HostOpCost(costModel: costModel(shape: shape), method: method, host: host,
                              intraHostLink: topology.intraHostLink, interHostLink: topology.interHostLink)
        return { cost.duration(of: $0) }
    }
}
