import Cluster
import Testing

@Suite("Collectives: plans, closed forms, reference simulation")
struct NetworkCollectivesTests {
    static let hostCounts = [1, 2, 3, 4, 7]

    @Test("plan shapes: ring all-gather has H−1 steps of H sends; others one step", arguments: hostCounts)
    func planShapes(hosts: Int) {
        let ring = Collectives.ringAllGather(hosts: hosts, chunkBytes: 10)
        #expect(ring.steps.count == max(0, hosts - 1))
        #expect(ring.steps.allSatisfy { $0.count == hosts })
        #expect(ring.totalBytes == hosts * (hosts - 1) * 10)
        #expect(Collectives.directAllGather(hosts: hosts, chunkBytes: 10).totalBytes == hosts * (hosts - 1) * 10)
        #expect(Collectives.gather(root: HostID(0), hosts: hosts, chunkBytes: 10).steps.first?.count ?? 0 == hosts - 1)
        #expect(Collectives.broadcast(root: HostID(0), hosts: hosts, bytes: 10).steps.first?.allSatisfy { $0.from == HostID(0) } ?? true)
    }

    /// Fully connected, 3 GB/s (so chunk/bw is not a whole number of ns), 4 µs latency.
    @Test("closed forms match the flow simulation on a uniform fully connected topology", arguments: hostCounts)
    func closedFormsFullyConnected(hosts: Int) throws {
        let topo = try makeTopology(hosts: hosts, interBandwidth: 3e9, interLatencyNs: 4_000)
        let link = topo.spec.interHostLink
        let chunk = 1_000_000
        let lone = SimDuration.nanoseconds(4_000 + 333_334)
        #expect(Collectives.loneMessageTime(bytes: chunk, link: link) == lone)
        let cases: [(Collectives.Plan, SimDuration)] = [
            (Collectives.broadcast(root: HostID(hosts - 1), hosts: hosts, bytes: chunk),
             Collectives.broadcastTime(hosts: hosts, bytes: chunk, link: link)),
            (Collectives.gather(root: HostID(0), hosts: hosts, chunkBytes: chunk),
             Collectives.gatherTime(hosts: hosts, chunkBytes: chunk, link: link)),
            (Collectives.ringAllGather(hosts: hosts, chunkBytes: chunk),
             Collectives.ringAllGatherTime(hosts: hosts, chunkBytes: chunk, link: link)),
            (Collectives.directAllGather(hosts: hosts, chunkBytes: chunk),
             Collectives.directAllGatherTime(hosts: hosts, chunkBytes: chunk, link: link)),
        ]
        for (plan, closed) in cases {
            #expect(try Collectives.simulatedTime(plan, on: topo) == closed, "\(plan.name) on \(hosts) hosts")
        }
        #expect(Collectives.ringAllGatherTime(hosts: hosts, chunkBytes: chunk, link: link) == lone * Int64(max(0, hosts - 1)))
        #expect(Collectives.gatherTime(hosts: hosts, chunkBytes: chunk, link: link) == (hosts > 1 ? lone : .zero))
    }

    @Test("ring all-gather on a ring topology takes (H−1)·(lat + chunk/bw)")
    func ringAllGatherOnRing() throws {
        let topo = try makeTopology(hosts: 6, shape: .ring, interBandwidth: 1e9, interLatencyNs: 2_000)
        let plan = Collectives.ringAllGather(hosts: 6, chunkBytes: 500_000)
        #expect(try Collectives.simulatedTime(plan, on: topo) == .nanoseconds(5 * (2_000 + 500_000)))
    }

    /// Ring of 4, latency 0: in a direct all-gather each clockwise link i→i+1 carries three flows
    /// (i→i+1, i→i+2's first hop, (i−1)→i+1's second hop; the 2-hop tie goes clockwise), so all run at
    /// bw/3 and finish at 3·c/bw; counter-clockwise messages are alone and finish at c/bw.
    @Test("direct all-gather on a ring shares links: hand-computed 3·c/bw")
    func directAllGatherOnRingShares() throws {
        let topo = try makeTopology(hosts: 4, shape: .ring, interBandwidth: 1e9)
        let timings = try Collectives.simulate(Collectives.directAllGather(hosts: 4, chunkBytes: 1_000_000), on: topo)
        #expect(timings.count == 12)
        for t in timings {
            let clockwise = (t.send.to.rawValue - t.send.from.rawValue + 4) % 4
            #expect(t.delivered == at(clockwise == 3 ? 1_000_000 : 3_000_000), "\(t.send)")
        }
    }

    /// step 0: 0→1 (1 MB), 2→3 (1 B); step 1: 1→2 (1 MB), 3→0 (1 MB). Latency 0, 1 GB/s.
    /// Host 3 is ready for step 1 at 1 ns, host 1 at 1 ms.
    @Test("dependency rule: a host's next step starts when it received its previous-step message")
    func dependencyRule() throws {
        let topo = try makeTopology(hosts: 4, interBandwidth: 1e9)
        let plan = Collectives.Plan(name: "custom", steps: [
            [.init(from: HostID(0), to: HostID(1), bytes: 1_000_000), .init(from: HostID(2), to: HostID(3), bytes: 1)],
            [.init(from: HostID(1), to: HostID(2), bytes: 1_000_000), .init(from: HostID(3), to: HostID(0), bytes: 1_000_000)],
        ])
        let t = try Collectives.simulate(plan, on: topo, start: at(10))
        #expect(t.map(\.sent) == [at(10), at(10), at(1_000_010), at(11)])
        #expect(t.map(\.delivered) == [at(1_000_010), at(11), at(2_000_010), at(1_000_011)])
    }

    @Test("plans naming an unknown host throw")
    func unknownHost() throws {
        let topo = try makeTopology(hosts: 2)
        #expect(throws: ClusterError.self) {
            _ = try Collectives.simulate(Collectives.gather(root: HostID(0), hosts: 3, chunkBytes: 1), on: topo)
        }
    }
}
