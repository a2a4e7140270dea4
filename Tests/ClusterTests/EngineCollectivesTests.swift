import Cluster
import Testing

/// Executes a `Collectives.Plan` on the engine with the plan's dependency rule: a host's step-k+1
/// sends start when it has received all of its step-k messages; a host that receives nothing in
/// step k moves on as soon as it is ready for step k. Payload = (step, index in step).
final class PlanShell: HostShell {
    typealias Payload = [Int]
    let plan: Collectives.Plan
    private var expected: [Int]
    private var got: [Int]
    private var step = 0
    /// (step, index) → delivery instant, filled by the receiving host.
    let deliveries: Shared<[[Int]: SimInstant]>

    init(plan: Collectives.Plan, host: HostID, deliveries: Shared<[[Int]: SimInstant]>) {
        self.plan = plan
        self.deliveries = deliveries
        expected = plan.steps.map { $0.filter { $0.to == host }.count }
        got = Array(repeating: 0, count: plan.steps.count)
    }

    private func sendStep(_ host: isolated SimHost<[Int]>) {
        for (i, s) in plan.steps[step].enumerated() where s.from == host.id {
            host.send(to: s.to, bytes: s.bytes, payload: [step, i], label: "\(plan.name) step \(step)")
        }
    }

    /// Sends the current step, then moves through every step whose incoming messages are all in.
    private func advance(_ host: isolated SimHost<[Int]>) {
        while step < plan.steps.count && got[step] == expected[step] {
            step += 1
            if step < plan.steps.count { sendStep(host) }
        }
        if step == plan.steps.count { host.finish() }
    }

    func start(_ host: isolated SimHost<[Int]>) {
        if !plan.steps.isEmpty { sendStep(host) }
        advance(host)
    }

    func received(_ m: Message<[Int]>, _ host: isolated SimHost<[Int]>) {
        deliveries.update { $0[m.payload] = m.deliveredAt }
        got[m.payload[0]] += 1
        advance(host)
    }

    func computed(_ token: ComputeToken, _ host: isolated SimHost<[Int]>) {}
}

@Suite("Engine × collectives and critical path")
struct EngineCollectivesTests {
    static let link = LinkProfile(name: "ib", bandwidthBytesPerSecond: 12.5e9, latency: .microseconds(5))

    static func topology(_ hosts: Int, _ shape: TopologyShape) throws -> Topology {
        let device = DeviceProfile(name: "gpu", flopsPerSecond: 1e15, memoryBandwidthBytesPerSecond: 2e12,
                                   memoryCapacityBytes: 80 << 30)
        let intra = LinkProfile(name: "nvlink", bandwidthBytesPerSecond: 300e9, latency: .microseconds(1))
        return try Topology(TopologyDescription(hosts: hosts, device: device, intraHostLink: intra,
                                                interHostLink: link, shape: shape))
    }

    static func runOnEngine(_ plan: Collectives.Plan, _ topo: Topology) throws -> (RunReport, [[Int]: SimInstant]) {
        let deliveries = Shared<[[Int]: SimInstant]>([:])
        let shells = topo.hosts.map { PlanShell(plan: plan, host: $0, deliveries: deliveries) }
        let report = try Simulation(topology: topo).run(shells: shells)
        return (report, deliveries.value)
    }

    static let plans: [(String, @Sendable (Int) -> Collectives.Plan)] = [
        ("broadcast", { Collectives.broadcast(root: HostID(0), hosts: $0, bytes: 3_000_000) }),
        ("gather", { Collectives.gather(root: HostID(1), hosts: $0, chunkBytes: 2_000_000) }),
        ("ring all-gather", { Collectives.ringAllGather(hosts: $0, chunkBytes: 1_000_000) }),
        ("direct all-gather", { Collectives.directAllGather(hosts: $0, chunkBytes: 500_000) }),
    ]

    /// Every message's delivery instant on the engine equals the network module's reference plan
    /// simulation (an independent event loop over `FlowNetwork`), on both topology shapes.
    @Test(arguments: [TopologyShape.fullyConnected, .ring])
    func engineMatchesReferencePlanSimulation(shape: TopologyShape) throws {
        let topo = try Self.topology(5, shape)
        for (name, make) in Self.plans {
            let plan = make(5)
            let reference = try Collectives.simulate(plan, on: topo)
            let (report, got) = try Self.runOnEngine(plan, topo)
            #expect(got.count == reference.count, "\(name)")
            for t in reference {
                #expect(got[[t.step, t.index]] == t.delivered, "\(name) step \(t.step) #\(t.index)")
            }
            #expect(report.finish == reference.map(\.delivered).max(), "\(name)")
        }
    }

    /// On a fully connected topology the engine's finish equals the closed forms.
    @Test func engineMatchesClosedForms() throws {
        let h = 6
        let topo = try Self.topology(h, .fullyConnected)
        let cases: [(Collectives.Plan, SimDuration)] = [
            (Collectives.broadcast(root: HostID(0), hosts: h, bytes: 3_000_000),
             Collectives.broadcastTime(hosts: h, bytes: 3_000_000, link: Self.link)),
            (Collectives.gather(root: HostID(1), hosts: h, chunkBytes: 2_000_000),
             Collectives.gatherTime(hosts: h, chunkBytes: 2_000_000, link: Self.link)),
            (Collectives.ringAllGather(hosts: h, chunkBytes: 1_000_000),
             Collectives.ringAllGatherTime(hosts: h, chunkBytes: 1_000_000, link: Self.link)),
            (Collectives.directAllGather(hosts: h, chunkBytes: 500_000),
             Collectives.directAllGatherTime(hosts: h, chunkBytes: 500_000, link: Self.link)),
        ]
        for (plan, expected) in cases {
            let (report, _) = try Self.runOnEngine(plan, topo)
            #expect(report.finish - .zero == expected, "\(plan.name)")
        }
    }

    /// The engine's dependency records let `CriticalPath` explain the finish exactly. Host 0:
    /// compute 1 ms, then send 1.25 MB (5 µs + 100 µs). Host 1: a `busy` compute at start, then
    /// `consume` (2 ms) when the message arrives at 1.105 ms.
    /// - busy = 1 ms: idle on arrival → path produce → kv → consume, finish 3.105 ms.
    /// - busy = 1.2 ms: consume queues behind busy → path busy → consume, finish 3.2 ms
    ///   (through the "previous compute" dependency).
    @Test(arguments: [(Int64(1_000), ["produce", "kv", "consume"], Int64(3_105_000), Int64(105)),
                      (Int64(1_200), ["busy", "consume"], Int64(3_200_000), Int64(0))])
    func criticalPathOfAnEngineRunAddsUpToTheFinish(busyMicroseconds: Int64, path expected: [String],
                                                    finish: Int64, transferMicroseconds: Int64) throws {
        let topo = try Self.topology(2, .fullyConnected)
        let shells = [
            ScriptShell(start: { h in _ = h.compute(label: "produce", phase: "a", cost: .milliseconds(1)) },
                        computed: { _, h in
                            h.send(to: HostID(1), bytes: 1_250_000, payload: 0, label: "kv", phase: "a")
                            h.finish()
                        }),
            ScriptShell(start: { h in _ = h.compute(label: "busy", phase: "b", cost: .microseconds(busyMicroseconds)) },
                        received: { _, h in _ = h.compute(label: "consume", phase: "b", cost: .milliseconds(2)) },
                        computed: { t, h in if t.index == 1 { h.finish() } }),
        ]
        let report = try Simulation(topology: topo).run(shells: shells)
        #expect(report.finish == SimInstant(nanoseconds: finish))
        let path = CriticalPath(log: report.log)
        #expect(path.finish == report.finish)
        #expect(path.steps.map(\.label) == expected)
        #expect(path.transferTime == .microseconds(transferMicroseconds))
        #expect(path.computeTime + path.transferTime == report.finish - .zero)
        #expect(path.waitingTime == .zero)
    }
}
