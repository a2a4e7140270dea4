import Cluster
import Testing
import TestSupport

@Suite("FlowNetwork: max-min fair flow model")
struct NetworkFlowTests {
    /// Reference: ceil(bytes · 1e9 / bandwidth) ns in exact integer arithmetic.
    static func ceilTransferNs(bytes: Int, bandwidth: Int) -> Int64 {
        Int64((bytes * 1_000_000_000 + bandwidth - 1) / bandwidth)
    }

    @Test("a lone message takes exactly latency + ceil(bytes/bw) ns", arguments: [
        (1_000_000, 1_000_000_000, Int64(5_000)),   // exact quotient: 1 ms
        (1_000_000, 3_000_000_000, Int64(1_500)),   // 333,333.33… ns -> 333,334
        (7, 3_000_000_000, Int64(0)),               // 2.33 ns -> 3
        (123_456_789, 12_500_000_000, Int64(1_700)),
        (1, 1_000_000_000, Int64(0)),               // exactly 1 ns
        (999_999_937, 25_000_000_000, Int64(2_000_000)),
        (3 * 1_048_576, 7_000_000_000, Int64(3)),
    ])
    func loneMessage(bytes: Int, bandwidth: Int, latencyNs: Int64) throws {
        let topo = try makeTopology(hosts: 2, interBandwidth: Double(bandwidth), interLatencyNs: latencyNs)
        var net = FlowNetwork(topology: topo)
        let start = at(42)
        try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: bytes, at: start)
        let deliveries = drain(&net)
        let expected = 42 + latencyNs + Self.ceilTransferNs(bytes: bytes, bandwidth: bandwidth)
        #expect(deliveries == [FlowNetwork.Delivery(flow: FlowID(0), at: at(expected))])
        #expect(net.state(of: FlowID(0)) == .delivered(at: at(expected)))
    }

    @Test("a lone message's rate is the link bandwidth only after the latency")
    func latencyPhaseUsesNoBandwidth() throws {
        let topo = try makeTopology(hosts: 2, interBandwidth: 2e9, interLatencyNs: 10_000)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(1), from: HostID(0), to: HostID(1), bytes: 4_000, at: .zero)
        #expect(net.rate(of: FlowID(1)) == 0)
        #expect(net.nextEventTime() == at(10_000))
        #expect(net.advance(to: at(10_000)).isEmpty)
        #expect(net.rate(of: FlowID(1)) == 2e9)
        #expect(net.nextEventTime() == at(12_000))
        #expect(net.advance(to: at(11_000)).isEmpty)
        #expect(abs(net.remainingBytes(of: FlowID(1))! - 2_000) < 1e-6)
        #expect(net.advance(to: at(20_000)) == [FlowID(1)])
    }

    @Test("zero-byte message is delivered right after the latency")
    func zeroBytes() throws {
        let topo = try makeTopology(hosts: 3, interLatencyNs: 777)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(2), to: HostID(0), bytes: 0, at: at(5))
        #expect(drain(&net) == [FlowNetwork.Delivery(flow: FlowID(0), at: at(782))])
        #expect(net.deliveredBytes(over: link(2, 0)) == 0)
        #expect(net.busyTime(of: link(2, 0)) == .zero)
    }

    @Test("two equal messages starting together on one link finish together at lat + 2B/bw")
    func twoEqualMessagesShareALink() throws {
        let bytes = 3_000_000, latency: Int64 = 2_500
        let topo = try makeTopology(hosts: 2, interBandwidth: 1e9, interLatencyNs: latency)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: bytes, at: .zero)
        try net.start(FlowID(1), from: HostID(0), to: HostID(1), bytes: bytes, at: .zero)
        _ = net.advance(to: at(latency))
        #expect(net.rate(of: FlowID(0)) == 0.5e9)
        #expect(net.rate(of: FlowID(1)) == 0.5e9)
        let expected = at(latency + 2 * 3_000_000)
        #expect(drain(&net) == [FlowNetwork.Delivery(flow: FlowID(0), at: expected),
                                FlowNetwork.Delivery(flow: FlowID(1), at: expected)])
        #expect(net.deliveredBytes(over: link(0, 1)) == 2 * bytes)
        #expect(net.busyTime(of: link(0, 1)) == .nanoseconds(6_000_000))
        // The reverse direction is a separate link and carried nothing.
        #expect(net.deliveredBytes(over: link(1, 0)) == 0)
    }

    @Test("messages in opposite directions do not share bandwidth")
    func oppositeDirections() throws {
        let topo = try makeTopology(hosts: 2, interBandwidth: 1e9)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: 1_000, at: .zero)
        try net.start(FlowID(1), from: HostID(1), to: HostID(0), bytes: 1_000, at: .zero)
        #expect(drain(&net).map(\.at) == [at(1_000), at(1_000)])
    }

    /// A: 1 MB at t = 0; B: 1 MB at t = 0.5 ms; link 1 GB/s, latency L = 1 µs.
    /// A alone from L to 0.5 ms + L moves 0.5 MB. Then both at 0.5 GB/s: A's last 0.5 MB takes 1 ms
    /// (done at 1.5 ms + L), while B moves 0.5 MB; B's last 0.5 MB alone takes 0.5 ms (done at 2 ms + L).
    @Test("two messages starting at different times: piecewise answer")
    func staggeredMessages() throws {
        let latency: Int64 = 1_000
        let topo = try makeTopology(hosts: 2, interBandwidth: 1e9, interLatencyNs: latency)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: 1_000_000, at: .zero)
        _ = net.advance(to: at(500_000))
        try net.start(FlowID(1), from: HostID(0), to: HostID(1), bytes: 1_000_000, at: at(500_000))
        #expect(net.rate(of: FlowID(0)) == 1e9)  // B is still in its latency phase
        _ = net.advance(to: at(500_000 + latency))
        #expect(net.rate(of: FlowID(0)) == 0.5e9)
        #expect(net.rate(of: FlowID(1)) == 0.5e9)
        #expect(abs(net.remainingBytes(of: FlowID(0))! - 500_000) < 1e-6)
        #expect(drain(&net) == [
            FlowNetwork.Delivery(flow: FlowID(0), at: at(1_500_000 + latency)),
            FlowNetwork.Delivery(flow: FlowID(1), at: at(2_000_000 + latency)),
        ])
        #expect(net.busyTime(of: link(0, 1)) == .nanoseconds(2_000_000))
    }

    /// Ring of 4, bandwidth C = 900 MB/s, latency 0. Flows: A 0→2 (links 0→1, 1→2), B 0→1, C 1→2,
    /// D 1→2. Link 1→2 has three flows (share C/3) and is the bottleneck: A, C, D get C/3. Link 0→1
    /// then has 2C/3 left for B. B (0.9 MB) ends at 0.9e6 / 600e6 s = 1.5 ms; A, C, D have then moved
    /// 0.45 MB of 0.9 MB; link 1→2 still limits them to C/3, so they end at 3 ms.
    @Test("max-min fairness gives unequal rates: classic bottleneck example")
    func maxMinUnequalRates() throws {
        let topo = try makeTopology(hosts: 4, shape: .ring, interBandwidth: 900e6)
        var net = FlowNetwork(topology: topo)
        let bytes = 900_000
        try net.start(FlowID(0), from: HostID(0), to: HostID(2), bytes: bytes, at: .zero)
        try net.start(FlowID(1), from: HostID(0), to: HostID(1), bytes: bytes, at: .zero)
        try net.start(FlowID(2), from: HostID(1), to: HostID(2), bytes: bytes, at: .zero)
        try net.start(FlowID(3), from: HostID(1), to: HostID(2), bytes: bytes, at: .zero)
        #expect(net.route(of: FlowID(0)) == [link(0, 1), link(1, 2)])
        _ = net.advance(to: .zero)
        let third = 300e6, twoThirds = 600e6
        #expect(abs(net.rate(of: FlowID(0))! - third) < 1e-3)
        #expect(abs(net.rate(of: FlowID(1))! - twoThirds) < 1e-3)
        #expect(abs(net.rate(of: FlowID(2))! - third) < 1e-3)
        #expect(abs(net.rate(of: FlowID(3))! - third) < 1e-3)
        let deliveries = drain(&net)
        #expect(deliveries == [
            FlowNetwork.Delivery(flow: FlowID(1), at: at(1_500_000)),
            FlowNetwork.Delivery(flow: FlowID(0), at: at(3_000_000)),
            FlowNetwork.Delivery(flow: FlowID(2), at: at(3_000_000)),
            FlowNetwork.Delivery(flow: FlowID(3), at: at(3_000_000)),
        ])
        #expect(net.deliveredBytes(over: link(0, 1)) == 2 * bytes)
        #expect(net.deliveredBytes(over: link(1, 2)) == 3 * bytes)
    }

    @Test("intra-host messages use the intra-host link and its profile")
    func intraHost() throws {
        let topo = try makeTopology(hosts: 2, interBandwidth: 1e9, interLatencyNs: 5_000,
                                    intraBandwidth: 4e9, intraLatencyNs: 100)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(1), to: HostID(1), bytes: 8_000, at: .zero, phase: "local")
        #expect(net.route(of: FlowID(0)) == [link(1, 1)])
        #expect(drain(&net).map(\.at) == [at(100 + 2_000)])
        #expect(net.deliveredBytes(over: link(1, 1), phase: "local") == 8_000)
    }

    @Test("multi-hop ring route: latency is summed over hops, bandwidth is the bottleneck's")
    func multiHopLatency() throws {
        let topo = try makeTopology(hosts: 8, shape: .ring, interBandwidth: 1e9, interLatencyNs: 1_000)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(3), bytes: 10_000, at: .zero)
        #expect(net.route(of: FlowID(0))?.count == 3)
        #expect(drain(&net).map(\.at) == [at(3 * 1_000 + 10_000)])
        for l in [link(0, 1), link(1, 2), link(2, 3)] {
            #expect(net.deliveredBytes(over: l) == 10_000)
            #expect(net.busyTime(of: l) == .nanoseconds(10_000))
        }
    }

    @Test("per-phase byte counters and utilisation")
    func phaseCounters() throws {
        let topo = try makeTopology(hosts: 2, interBandwidth: 1e9)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: 1_000, at: .zero, phase: "prefill")
        _ = drain(&net)
        _ = net.advance(to: at(3_000))
        try net.start(FlowID(1), from: HostID(0), to: HostID(1), bytes: 1_000, at: at(3_000), phase: "decode")
        _ = drain(&net)
        #expect(net.now == at(4_000))
        #expect(net.deliveredBytes(over: link(0, 1), phase: "prefill") == 1_000)
        #expect(net.deliveredBytes(over: link(0, 1), phase: "decode") == 1_000)
        #expect(net.deliveredBytes(over: link(0, 1)) == 2_000)
        #expect(net.busyTime(of: link(0, 1)) == .nanoseconds(2_000))
        #expect(net.utilisation(of: link(0, 1)) == 0.5)
    }

    @Test("invalid starts throw with a message naming the flow and the problem")
    func invalidStarts() throws {
        var topo = try makeTopology(hosts: 3, interLatencyNs: 10)
        try topo.markFailed(HostID(2))
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: 10, at: at(100))
        do {
            try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: 1, at: at(100))
            Issue.record("duplicate flow id accepted")
        } catch { #expect(error.description == "flow0: flow id already used in this network") }
        do {
            try net.start(FlowID(1), from: HostID(0), to: HostID(1), bytes: -1, at: at(100))
            Issue.record("negative size accepted")
        } catch { #expect(error.description.contains("flow1") && error.description.contains("-1")) }
        do {
            try net.start(FlowID(2), from: HostID(0), to: HostID(1), bytes: 1, at: at(50))
            Issue.record("start in the past accepted")
        } catch { #expect(error.description.contains("before the network's current time")) }
        do {
            try net.start(FlowID(3), from: HostID(0), to: HostID(1), bytes: 1, at: at(1_000_000))
            Issue.record("start skipping a pending delivery accepted")
        } catch { #expect(error.description.contains("advance(to:)")) }
        do {
            try net.start(FlowID(4), from: HostID(0), to: HostID(2), bytes: 1, at: at(100))
            Issue.record("message to a failed host accepted")
        } catch {
            #expect(error.code == .hostFailed)
            #expect(error.description.contains("from host0 to failed host host2"))
        }
        do {
            try net.start(FlowID(5), from: HostID(0), to: HostID(7), bytes: 1, at: at(100))
            Issue.record("unknown host accepted")
        } catch {
            #expect(error.code == .unknownHost)
            #expect(error.description.contains("unknown host host7"))
            #expect(error.description.contains("host0...host2"))
        }
    }

    @Test("cancel removes a flow and gives its bandwidth back")
    func cancelFlow() throws {
        let topo = try makeTopology(hosts: 2, interBandwidth: 1e9)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(1), bytes: 2_000, at: .zero)
        try net.start(FlowID(1), from: HostID(0), to: HostID(1), bytes: 2_000, at: .zero)
        _ = net.advance(to: at(1_000))           // each moved 500 bytes at 0.5 GB/s
        let cancelled = net.cancel(FlowID(1))
        #expect(cancelled)
        #expect(net.rate(of: FlowID(0)) == 1e9)
        #expect(drain(&net).map(\.at) == [at(2_500)])  // 1,500 bytes left at 1 GB/s
        let cancelledDelivered = net.cancel(FlowID(0))
        #expect(!cancelledDelivered)
    }

    /// Randomized flows on a ring of 5 with random start times: at every event the rates must be
    /// feasible (no link over capacity) and max-min fair (each transferring flow crosses a saturated
    /// link on which no flow is faster). Same inputs twice give identical deliveries.
    @Test("randomized: rates are feasible and max-min fair at every event; runs are deterministic")
    func randomizedMaxMinInvariants() throws {
        func run(seed: UInt64, check: Bool) throws -> [FlowNetwork.Delivery] {
            let bw = 1.25e9
            let topo = try makeTopology(hosts: 5, shape: .ring, interBandwidth: bw, interLatencyNs: 700,
                                        intraBandwidth: 5e9, intraLatencyNs: 50)
            var net = FlowNetwork(topology: topo)
            var rng = SplitMix64(seed: seed)
            var starts: [(SimInstant, Int, Int, Int)] = (0..<40).map { _ in
                (at(Int64.random(in: 0...200_000, using: &rng)), Int.random(in: 0..<5, using: &rng),
                 Int.random(in: 0..<5, using: &rng), Int.random(in: 0...300_000, using: &rng))
            }
            starts.sort { $0.0 < $1.0 }
            var all: [FlowNetwork.Delivery] = []
            var next = 0
            var checks = 0
            while next < starts.count || net.nextEventTime() != nil {
                let tStart = next < starts.count ? starts[next].0 : nil
                let tNet = net.nextEventTime()
                if let ts = tStart, tNet == nil || ts <= tNet! {
                    all += net.advanceDeliveries(to: ts)
                    let s = starts[next]
                    try net.start(FlowID(next), from: HostID(s.1), to: HostID(s.2), bytes: s.3, at: s.0)
                    next += 1
                } else {
                    all += net.advanceDeliveries(to: tNet!)
                }
                if check { checks += 1; try Self.checkMaxMin(net, topo: topo) }
            }
            #expect(all.count == starts.count)
            return all
        }
        let a = try run(seed: 7, check: true)
        let b = try run(seed: 7, check: false)
        #expect(a == b)
        #expect(a.map(\.at) == a.map(\.at).sorted())
    }

    static func checkMaxMin(_ net: FlowNetwork, topo: Topology) throws {
        let active = net.flowsInFlight.filter { net.state(of: $0) == .transferring }
        var load: [LinkID: Double] = [:]
        var maxRate: [LinkID: Double] = [:]
        for f in active {
            let r = net.rate(of: f)!
            #expect(r > 0)
            for l in net.route(of: f)! {
                load[l, default: 0] += r
                maxRate[l] = max(maxRate[l] ?? 0, r)
            }
        }
        for (l, used) in load {
            let cap = topo.profile(of: l)!.bandwidthBytesPerSecond
            #expect(used <= cap * (1 + 1e-9), "link \(l) over capacity: \(used) > \(cap)")
        }
        for f in active {
            let r = net.rate(of: f)!
            let bottleneck = net.route(of: f)!.contains { l in
                let cap = topo.profile(of: l)!.bandwidthBytesPerSecond
                return load[l]! >= cap * (1 - 1e-9) && r >= maxRate[l]! * (1 - 1e-9)
            }
            #expect(bottleneck, "flow \(f) at rate \(r) has no bottleneck link")
        }
    }
}

@Suite("FlowNetwork: failures and scale")
struct NetworkScaleTests {
    @Test("markFailed reports in-flight flows touching the host and blocks new ones")
    func markFailed() throws {
        let topo = try makeTopology(hosts: 4, shape: .ring, interBandwidth: 1e9)
        var net = FlowNetwork(topology: topo)
        try net.start(FlowID(0), from: HostID(0), to: HostID(2), bytes: 1_000, at: .zero)  // via host1
        try net.start(FlowID(1), from: HostID(3), to: HostID(2), bytes: 1_000, at: .zero)
        let touched = try net.markFailed(HostID(1))
        #expect(touched == [FlowID(0)])
        #expect(net.topology.isFailed(HostID(1)))
        // Route from 0 to 2 now goes the other way round.
        try net.start(FlowID(2), from: HostID(0), to: HostID(2), bytes: 1_000, at: .zero)
        #expect(net.route(of: FlowID(2)) == [link(0, 3), link(3, 2)])
        do {
            try net.start(FlowID(3), from: HostID(0), to: HostID(1), bytes: 1, at: .zero)
            Issue.record("message to failed host accepted")
        } catch { #expect(error.code == .hostFailed) }
    }

    /// 4,000 flows with random sizes and start times on 16 fully connected hosts; reports the event rate.
    @Test("scale: 4,000 overlapping flows on 16 hosts stay fast and all arrive")
    func scale() throws {
        let topo = try makeTopology(hosts: 16, interBandwidth: 12.5e9, interLatencyNs: 2_000)
        var net = FlowNetwork(topology: topo)
        var rng = SplitMix64(seed: 42)
        let n = 4_000
        let starts = (0..<n).map { _ in Int64.random(in: 0...20_000_000, using: &rng) }.sorted()
        let clock = ContinuousClock()
        var delivered = 0, events = 0, next = 0
        var peak = 0
        let elapsed = try clock.measure {
            while next < n || net.nextEventTime() != nil {
                let tNet = net.nextEventTime()
                if next < n, tNet == nil || at(starts[next]) <= tNet! {
                    delivered += net.advance(to: at(starts[next])).count
                    try net.start(FlowID(next), from: HostID(Int.random(in: 0..<16, using: &rng)),
                                  to: HostID(Int.random(in: 0..<16, using: &rng)),
                                  bytes: Int.random(in: 1...4_000_000, using: &rng), at: at(starts[next]))
                    next += 1
                } else {
                    delivered += net.advance(to: tNet!).count
                }
                events += 1
                peak = max(peak, net.flowsInFlight.count)
            }
        }
        #expect(delivered == n)
        print("FlowNetwork scale: \(n) flows, \(events) steps, peak \(peak) in flight, \(elapsed)")
        if WallClock.testsEnabled { #expect(elapsed < .seconds(30)) }
    }
}
