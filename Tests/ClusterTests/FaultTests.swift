import Cluster
import Testing

/// Faults in the engine (`FaultPlan`): every expected instant below is worked out by hand from the
/// fixture's links (1 GB/s, 10 µs between hosts) and the fault, not read back from the engine.
@Suite struct FaultTests {
    static let ms = SimDuration.milliseconds(1)
    static func t(_ ns: Int64) -> SimInstant { SimInstant(nanoseconds: ns) }
    static func window(_ from: Int64, _ until: Int64? = nil) -> FaultPlan.Window {
        .init(from: t(from), until: until.map(t))
    }

    /// host0 sends `bytes` to host1 at t = 0; host1 finishes on delivery.
    static func sendOnce(hosts: Int = 2, shape: TopologyShape = .fullyConnected, bytes: Int = 1_000_000,
                         faults: FaultPlan) throws -> RunReport {
        let topo = try Fixtures.topology(hosts: hosts, shape: shape)
        var options = SimulationOptions()
        options.faults = faults
        let shells: [ScriptShell] = (0..<hosts).map { h in
            switch h {
            case 0: ScriptShell(start: { host in host.send(to: HostID(1), bytes: bytes, payload: 0, label: "m"); host.finish() })
            case 1: ScriptShell(start: { _ in }, received: { _, host in host.finish() })
            default: ScriptShell()
            }
        }
        return try Simulation(topology: topo, options: options).run(shells: shells)
    }

    static func linkFault(_ a: Int, _ b: Int, _ effect: FaultPlan.LinkEffect, _ w: FaultPlan.Window) -> FaultPlan {
        FaultPlan(links: [.init(links: .link(LinkID(from: HostID(a), to: HostID(b))), effect: effect, window: w,
                                field: "faults.links[0]")])
    }

    @Test func aSlowLinkStretchesTheTransferFromTheMomentItSlows() throws {
        // Whole transfer at half bandwidth: 10 µs + 1e6 B / 0.5 GB/s = 2.01 ms.
        let whole = try Self.sendOnce(faults: Self.linkFault(0, 1, .degraded(bandwidthFactor: 0.5, extraLatency: .zero), Self.window(0)))
        #expect(Fixtures.delivered(whole.log, label: "m") == [Self.t(2_010_000)])
        // Slows at 0.5 ms: 490,000 B by then at 1 GB/s, 510,000 B at 0.5 GB/s = 1.02 ms more → 1.52 ms.
        let mid = try Self.sendOnce(faults: Self.linkFault(0, 1, .degraded(bandwidthFactor: 0.5, extraLatency: .zero), Self.window(500_000)))
        #expect(Fixtures.delivered(mid.log, label: "m") == [Self.t(1_520_000)])
        #expect(mid.faults.linkChanges.map(\.bandwidthFactor) == [0.5])
        // Extra latency applies to messages that start in the window: 10 + 100 µs + 1 ms.
        let late = try Self.sendOnce(faults: Self.linkFault(0, 1, .degraded(bandwidthFactor: 1, extraLatency: .microseconds(100)), Self.window(0)))
        #expect(Fixtures.delivered(late.log, label: "m") == [Self.t(1_110_000)])
    }

    @Test func aFailedLinkIsAvoidedWhereAPathExistsAndWaitedForWhereNot() throws {
        let down = FaultPlan.LinkEffect.down
        // Three hosts fully connected: host0 → host2 → host1, two hops: 20 µs + 1 ms.
        let around = try Self.sendOnce(hosts: 3, faults: Self.linkFault(0, 1, down, Self.window(0, 5_000_000)))
        #expect(Fixtures.delivered(around.log, label: "m") == [Self.t(1_020_000)])
        #expect(around.faults.reroutedMessages == 1 && around.faults.waitingMessages == 0)
        #expect(around.log.records.contains { if case .transfer(let m) = $0 { m.route.count == 2 } else { false } })
        // Two hosts: no other path; the bytes wait until 3 ms, then take 1 ms.
        let wait = try Self.sendOnce(hosts: 2, faults: Self.linkFault(0, 1, down, Self.window(0, 3_000_000)))
        #expect(Fixtures.delivered(wait.log, label: "m") == [Self.t(4_000_000)])
        #expect(wait.faults.waitingMessages == 1)
        // Down while the message is on it (0.5–1 ms): 490,000 B done, paused 0.5 ms, 510,000 B → 1.51 ms.
        let paused = try Self.sendOnce(hosts: 2, faults: Self.linkFault(0, 1, down, Self.window(500_000, 1_000_000)))
        #expect(Fixtures.delivered(paused.log, label: "m") == [Self.t(1_510_000)])
        // A ring of four: host0 → host1 down, so the other way round, 3 hops: 30 µs + 1 ms.
        let ring = try Self.sendOnce(hosts: 4, shape: .ring, faults: Self.linkFault(0, 1, down, Self.window(0, 9_000_000)))
        #expect(Fixtures.delivered(ring.log, label: "m") == [Self.t(1_030_000)])
    }

    @Test func aStragglerRunsEachPartOfAStepAtItsSpeed() throws {
        // 2 ms of work, half speed from 1 ms: 1 ms done at full speed, the other 1 ms takes 2 ms → 3 ms.
        let plan = FaultPlan(stragglers: [.init(host: HostID(0), speedFactor: 0.5, window: Self.window(1_000_000),
                                                field: "faults.stragglers[0]")])
        #expect(plan.computeEnd(host: HostID(0), start: .zero, cost: .milliseconds(2)) == Self.t(3_000_000))
        #expect(plan.computeEnd(host: HostID(1), start: .zero, cost: .milliseconds(2)) == Self.t(2_000_000))
        // Window 1–2 ms at quarter speed: 1 ms full, 0.25 ms of work in the window, 0.75 ms after → 2.75 ms.
        let windowed = FaultPlan(stragglers: [.init(host: HostID(0), speedFactor: 0.25, window: Self.window(1_000_000, 2_000_000),
                                                    field: "s")])
        #expect(windowed.computeEnd(host: HostID(0), start: .zero, cost: .milliseconds(2)) == Self.t(2_750_000))

        let topo = try Fixtures.topology(hosts: 1)
        var options = SimulationOptions()
        options.faults = plan
        let shell = ScriptShell(start: { host in _ = host.compute(label: "work", cost: .milliseconds(2)) },
                                computed: { _, host in host.finish() })
        let report = try Simulation(topology: topo, options: options).run(shells: [shell])
        #expect(report.finish == Self.t(3_000_000))
        #expect(report.hosts[0].counters.busy == .milliseconds(3))
    }

    /// host0 computes 5 ms, then sends 1 MB to host1, which finishes on delivery.
    static func computeThenSend() -> (HostID) -> ScriptShell {
        { id in
            id == HostID(0)
                ? ScriptShell(start: { host in _ = host.compute(label: "encode", cost: .milliseconds(5)) },
                              computed: { _, host in host.send(to: HostID(1), bytes: 1_000_000, payload: 0, label: "kv"); host.finish() })
                : ScriptShell(start: { _ in }, received: { _, host in host.finish() })
        }
    }

    @Test func aHostThatExchangedNothingIsRedoneAloneOnASpare() throws {
        let topo = try Fixtures.topology(hosts: 2)
        var options = SimulationOptions()
        options.faults = FaultPlan(hostLosses: [.init(host: HostID(0), at: Self.t(2_000_000), field: "faults.host_loss[0]")],
                                   recoveryDelay: .milliseconds(1))
        let make = Self.computeThenSend()
        let report = try Simulation(topology: topo, options: options)
            .run(shells: [make(HostID(0)), make(HostID(1))].map { $0 as any HostShell<Int> }, respawn: { make($0) })
        // Lost at 2 ms, spare at 3 ms, 5 ms of work → sends at 8 ms, delivered 8.01 + 1 ms.
        #expect(Fixtures.delivered(report.log, label: "kv") == [Self.t(9_010_000)])
        let r = try #require(report.faults.recoveries.first)
        #expect(r.restartedHosts == [HostID(0)])
        #expect(r.workLost == .milliseconds(2))
        #expect(r.bytesResent == 0)
        // The cut step is logged up to the loss.
        #expect(report.log.records.contains {
            if case .compute(let c) = $0 { c.label == "encode (lost)" && c.end == Self.t(2_000_000) } else { false }
        })
    }

    /// host0 encodes 5 ms and sends 1 MB to host1 (delivered 6.01 ms), which then computes 4 ms.
    static func sendThenUse() -> (HostID) -> ScriptShell {
        { id in
            id == HostID(0)
                ? ScriptShell(start: { host in _ = host.compute(label: "encode", cost: .milliseconds(5)) },
                              computed: { _, host in host.send(to: HostID(1), bytes: 1_000_000, payload: 0, label: "kv"); host.finish() })
                : ScriptShell(start: { _ in }, received: { _, host in _ = host.compute(label: "use", cost: .milliseconds(4)) },
                              computed: { _, host in host.finish() })
        }
    }

    static func lose(_ host: Int, at ns: Int64, _ make: @escaping (HostID) -> ScriptShell) throws -> RunReport {
        let topo = try Fixtures.topology(hosts: 2)
        var options = SimulationOptions()
        options.faults = FaultPlan(hostLosses: [.init(host: HostID(host), at: Self.t(ns), field: "faults.host_loss[0]")],
                                   recoveryDelay: .milliseconds(1))
        return try Simulation(topology: topo, options: options)
            .run(shells: [make(HostID(0)), make(HostID(1))].map { $0 as any HostShell<Int> }, respawn: { make($0) })
    }

    @Test func aHostThatOnlyReceivedIsRedoneAloneWithItsInputsSentAgain() throws {
        // host1 is lost at 7 ms; it sent nothing, so its spare (8 ms) gets the 1 MB again from host0:
        // delivered 9.01 ms, used until 13.01 ms.
        let report = try Self.lose(1, at: 7_000_000, Self.sendThenUse())
        #expect(report.finish == Self.t(13_010_000))
        let r = try #require(report.faults.recoveries.first)
        #expect(r.restartedHosts == [HostID(1)])
        #expect(r.bytesResent == 1_000_000)
        #expect(r.workLost == SimDuration(nanoseconds: 990_000))
        #expect(Fixtures.delivered(report.log, label: "kv") == [Self.t(6_010_000), Self.t(9_010_000)])
    }

    @Test func aHostWhoseStateWasSharedRestartsTheWholeRun() throws {
        // host0 is lost at 7 ms, after its message reached host1: host1's state depends on it.
        let report = try Self.lose(0, at: 7_000_000, Self.sendThenUse())
        // Everything restarts at 8 ms: encode to 13 ms, delivered 14.01 ms, use to 18.01 ms.
        #expect(report.finish == Self.t(18_010_000))
        let r = try #require(report.faults.recoveries.first)
        #expect(r.restartedHosts == [HostID(0), HostID(1)])
        #expect(r.bytesResent == 1_000_000)
        // Lost: host0's 5 ms encode, host1's use from 6.01 to 7 ms.
        #expect(r.workLost == SimDuration(nanoseconds: 5_000_000 + 990_000))
        // Counters count each step once, cut steps up to the loss.
        #expect(report.counters.host(HostID(1))?.busy == SimDuration(nanoseconds: 990_000 + 4_000_000))
    }

    @Test func messagesToAHostWaitingForItsSpareAreHandedToTheSpare() throws {
        // host1 sends to host0 at 0 (delivered 1.01 ms); host0, which has exchanged nothing, is lost at
        // 0.5 ms; its spare starts at 2.5 ms and gets the message then.
        let topo = try Fixtures.topology(hosts: 2)
        var options = SimulationOptions()
        options.faults = FaultPlan(hostLosses: [.init(host: HostID(0), at: Self.t(500_000), field: "faults.host_loss[0]")],
                                   recoveryDelay: .milliseconds(2))
        let got = Shared<[SimInstant]>([])
        let make: (HostID) -> ScriptShell = { id in
            id == HostID(0)
                ? ScriptShell(start: { _ in }, received: { _, host in got.update { $0.append(host.now) }; host.finish() })
                : ScriptShell(start: { host in host.send(to: HostID(0), bytes: 1_000_000, payload: 0, label: "q"); host.finish() })
        }
        _ = try Simulation(topology: topo, options: options)
            .run(shells: [make(HostID(0)), make(HostID(1))].map { $0 as any HostShell<Int> }, respawn: { make($0) })
        #expect(got.value == [Self.t(2_500_000)])
    }

    @Test func aLostSendersMessagesHeldForASpareDieWithIt() throws {
        // host2 is lost at 0.1 ms (spare at 5.1 ms). host1 sends it "x" at 1 ms: held for the spare.
        // host1 is lost at 3 ms; nothing it sent has reached a live host, so it is redone alone and
        // its held "x" is dropped: host2's spare gets exactly one "x", the re-sent one (9 ms + 1.01).
        let topo = try Fixtures.topology(hosts: 3)
        var options = SimulationOptions()
        options.faults = FaultPlan(hostLosses: [.init(host: HostID(2), at: Self.t(100_000), field: "a"),
                                                .init(host: HostID(1), at: Self.t(3_000_000), field: "b")],
                                   recoveryDelay: .milliseconds(5))
        let got = Shared<[SimInstant]>([])
        let make: (HostID) -> ScriptShell = { id in
            switch id.rawValue {
            case 1: ScriptShell(start: { host in _ = host.compute(label: "c", cost: .milliseconds(1)) },
                                computed: { _, host in host.send(to: HostID(2), bytes: 1_000_000, payload: 0, label: "x"); host.finish() })
            case 2: ScriptShell(start: { _ in }, received: { _, host in got.update { $0.append(host.now) }; host.finish() })
            default: ScriptShell()
            }
        }
        let report = try Simulation(topology: topo, options: options)
            .run(shells: (0..<3).map { make(HostID($0)) as any HostShell<Int> }, respawn: { make($0) })
        #expect(got.value == [Self.t(10_010_000)])
        #expect(report.faults.recoveries.map(\.restartedHosts) == [[HostID(2)], [HostID(1)]])
    }

    @Test func runsWithFaultsAreByteIdentical() throws {
        let topo = try Fixtures.topology(hosts: 3)
        var options = SimulationOptions()
        options.faults = FaultPlan(
            links: [.init(links: .allInterHost, effect: .degraded(bandwidthFactor: 0.3, extraLatency: .microseconds(7)),
                          window: Self.window(100_000, 4_000_000), field: "l0"),
                    .init(links: .link(LinkID(from: HostID(0), to: HostID(1))), effect: .down,
                          window: Self.window(0, 2_000_000), field: "l1")],
            stragglers: [.init(host: HostID(2), speedFactor: 0.6, window: Self.window(0), field: "s0")],
            hostLosses: [.init(host: HostID(1), at: Self.t(3_000_000), field: "h0")], recoveryDelay: .milliseconds(1))
        func once() throws -> String {
            let make: (HostID) -> ScriptShell = { id in
                let seen = Shared(0)  // messages this life of the host received
                return ScriptShell(start: { host in
                    _ = host.compute(label: "c", cost: .milliseconds(1))
                    for to in 0..<3 where to != id.rawValue {
                        host.send(to: HostID(to), bytes: 700_000, payload: 0, label: "m\(id.rawValue)")
                    }
                }, received: { _, host in
                    if seen.update({ $0 += 1; return $0 }) == 2 { host.finish() }
                })
            }
            let report = try Simulation(topology: topo, options: options)
                .run(shells: (0..<3).map { make(HostID($0)) as any HostShell<Int> }, respawn: { make($0) })
            return Fixtures.serialize(report.log) + "\(report.faults)"
        }
        let a = try once(), b = try once()
        #expect(a == b)
        #expect(a.contains("re-routed") && a.contains("lost"))
    }

    @Test func badFaultsAreRefusedNamingTheField() throws {
        let topo = try Fixtures.topology(hosts: 4, shape: .ring)
        func error(_ plan: FaultPlan) -> String? {
            do { try plan.validate(against: topo); return nil } catch { return error.description }
        }
        let w = Self.window(0, 1_000)
        #expect(error(FaultPlan(stragglers: [.init(host: HostID(7), speedFactor: 0.5, window: w, field: "faults.stragglers[0]")]))?
            .hasPrefix("faults.stragglers[0].host: no host host7 in a cluster of 4") == true)
        #expect(error(Self.linkFault(0, 2, .down, w))?.hasPrefix("faults.links[0].link: no link host0->host2 in a ring") == true)
        #expect(error(Self.linkFault(0, 1, .degraded(bandwidthFactor: 0, extraLatency: .zero), w))?
            .hasPrefix("faults.links[0].bandwidth_factor: must be in (0, 1]") == true)
        #expect(error(Self.linkFault(0, 1, .down, Self.window(0)))?.hasPrefix("faults.links[0].until_seconds:") == true)
        #expect(error(FaultPlan(hostLosses: [.init(host: HostID(4), at: .zero, field: "faults.host_loss[0]")]))?
            .hasPrefix("faults.host_loss[0].host: no host host4") == true)
        // Invalid plans stop the run before it starts; a fault after the end of the run is an error.
        #expect(throws: ClusterError.self) { try Self.sendOnce(faults: Self.linkFault(0, 1, .degraded(bandwidthFactor: 2, extraLatency: .zero), w)) }
        // A fault that would start after the end of the run does not happen, and the report says so
        // (front ends refuse one that happens in none of their runs).
        let late = try Self.sendOnce(faults: Self.linkFault(0, 1, .degraded(bandwidthFactor: 0.5, extraLatency: .zero), Self.window(50_000_000)))
        #expect(late.faults.notHappened.map(\.description) == ["faults.links[0].from_seconds: 50ms is after the run ended at 1.01ms"])
        #expect(late.faults.linkChanges.isEmpty)
    }
}
