import Cluster

/// Builds a topology for network tests. Bandwidths in bytes/s, latencies in ns.
func makeTopology(hosts: Int, shape: TopologyShape = .fullyConnected, interBandwidth: Double = 1e9,
                  interLatencyNs: Int64 = 0, intraBandwidth: Double = 1e11, intraLatencyNs: Int64 = 0,
                  gpusPerHost: Int = 1) throws -> Topology {
    try Topology(makeDescription(hosts: hosts, shape: shape, interBandwidth: interBandwidth,
                                 interLatencyNs: interLatencyNs, intraBandwidth: intraBandwidth,
                                 intraLatencyNs: intraLatencyNs, gpusPerHost: gpusPerHost))
}

func makeDescription(hosts: Int, shape: TopologyShape = .fullyConnected, interBandwidth: Double = 1e9,
                     interLatencyNs: Int64 = 0, intraBandwidth: Double = 1e11, intraLatencyNs: Int64 = 0,
                     gpusPerHost: Int = 1) -> TopologyDescription {
    TopologyDescription(
        hosts: hosts, gpusPerHost: gpusPerHost,
        device: DeviceProfile(name: "test-gpu", flopsPerSecond: 1e12, memoryBandwidthBytesPerSecond: 1e11,
                              memoryCapacityBytes: 1 << 30),
        intraHostLink: LinkProfile(name: "test-nvlink", bandwidthBytesPerSecond: intraBandwidth,
                                   latency: .nanoseconds(intraLatencyNs)),
        interHostLink: LinkProfile(name: "test-ib", bandwidthBytesPerSecond: interBandwidth,
                                   latency: .nanoseconds(interLatencyNs)),
        shape: shape)
}

func at(_ ns: Int64) -> SimInstant { SimInstant(nanoseconds: ns) }
func link(_ a: Int, _ b: Int) -> LinkID { LinkID(from: HostID(a), to: HostID(b)) }

/// Runs the network until idle; returns every delivery in order.
func drain(_ net: inout FlowNetwork) -> [FlowNetwork.Delivery] {
    var all: [FlowNetwork.Delivery] = []
    while let t = net.nextEventTime() { all += net.advanceDeliveries(to: t) }
    return all
}


extension FlowNetwork {
    /// Bytes of the delivered flows among `FlowID(0..<flows)` whose route crosses `link` (each flow
    /// counts fully on every link of its route), optionally only those of `phase`. The network keeps
    /// no byte counter of its own (`RunCounters` is the one); tests read its flows.
    func deliveredBytes(over link: LinkID, phase: PhaseTag? = nil, flows: Int = 256) -> Int {
        (0..<flows).reduce(0) { total, i in
            guard let f = flow(FlowID(i)), case .delivered = f.state, f.route.contains(link),
                  phase == nil || f.phase == phase else { return total }
            return total + f.bytes
        }
    }
}
