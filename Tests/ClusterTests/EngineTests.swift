import Cluster
import Foundation
import Testing
import TestSupport

@Suite("Engine")
struct EngineTests {
    @Test func oneMessageArrivesAfterLatencyPlusSizeOverBandwidth() throws {
        // 1 GB/s, 10 µs: 1,000,000 bytes arrive at 10 µs + 1 ms.
        let topo = try Fixtures.topology(hosts: 2)
        let got = Shared<Message<Int>?>(nil)
        let shells = [
            ScriptShell(start: { h in h.send(to: HostID(1), bytes: 1_000_000, payload: 7, label: "m"); h.finish() }),
            ScriptShell(start: { _ in }, received: { m, h in got.set(m); h.finish() }),
        ]
        let report = try Simulation(topology: topo).run(shells: shells)
        #expect(got.value?.payload == 7)
        #expect(got.value?.deliveredAt == SimInstant(nanoseconds: 1_010_000))
        #expect(report.finish == SimInstant(nanoseconds: 1_010_000))
        #expect(report.hostFinishTimes == [.zero, SimInstant(nanoseconds: 1_010_000)])
        let counters = RunCounters(log: report.log)
        #expect(counters.hosts.first { $0.host == HostID(0) }?.bytesSent == 1_000_000)
        #expect(counters.hosts.first { $0.host == HostID(1) }?.bytesReceived == 1_000_000)
        #expect(Fixtures.delivered(report.log, label: "m") == [SimInstant(nanoseconds: 1_010_000)])
    }

    @Test func twoMessagesSharingALinkEachGetHalfTheBandwidth() throws {
        let topo = try Fixtures.topology(hosts: 2)
        let arrivals = Shared<[SimInstant]>([])
        let shells = [
            ScriptShell(start: { h in
                h.send(to: HostID(1), bytes: 1_000_000, payload: 1, label: "a")
                h.send(to: HostID(1), bytes: 1_000_000, payload: 2, label: "b")
                h.finish()
            }),
            ScriptShell(start: { _ in }, received: { m, h in
                if arrivals.update({ $0.append(m.deliveredAt); return $0.count }) == 2 { h.finish() }
            }),
        ]
        _ = try Simulation(topology: topo).run(shells: shells)
        // Both share 1 GB/s for their whole transfer: 2 MB in 2 ms, after the 10 µs latency.
        #expect(arrivals.value == [SimInstant(nanoseconds: 2_010_000), SimInstant(nanoseconds: 2_010_000)])
    }

    @Test func computeOverlapsCommunication() throws {
        // Host 0 computes 2 ms while sending 3 MB (3.01 ms); host 1 computes 1 ms on receipt.
        // Overlap: host 0 is done at max(2, 3.01) = 3.01 ms, not 5.01; the run ends at 4.01 ms.
        let topo = try Fixtures.topology(hosts: 2)
        let computedAt = Shared<SimInstant?>(nil)
        let shells = [
            ScriptShell(start: { h in
                _ = h.compute(label: "c", cost: .milliseconds(2))
                h.send(to: HostID(1), bytes: 3_000_000, payload: 0, label: "x")
            }, computed: { _, h in computedAt.set(h.now); h.finish() }),
            ScriptShell(start: { _ in }, received: { _, h in _ = h.compute(label: "after", cost: .milliseconds(1)) },
                        computed: { _, h in h.finish() }),
        ]
        let report = try Simulation(topology: topo).run(shells: shells)
        #expect(computedAt.value == SimInstant(nanoseconds: 2_000_000))
        #expect(Fixtures.delivered(report.log, label: "x") == [SimInstant(nanoseconds: 3_010_000)])
        #expect(report.finish == SimInstant(nanoseconds: 4_010_000))
        #expect(report.hosts[0].counters.busy == .milliseconds(2))
    }

    @Test func computesQueueOneAtATimeAndRecordDependencies() throws {
        let topo = try Fixtures.topology(hosts: 1)
        let done = Shared<[(ComputeToken, SimInstant)]>([])
        let shells = [ScriptShell(start: { h in
            _ = h.compute(label: "a", cost: .milliseconds(3))
            _ = h.compute(label: "b", cost: .milliseconds(2))
        }, computed: { t, h in
            done.update { $0.append((t, h.now)) }
            if t.index == 0 { _ = h.compute(label: "c", cost: .milliseconds(1)) }
            if t.index == 2 { h.finish() }
        })]
        let report = try Simulation(topology: topo).run(shells: shells)
        #expect(done.value.map(\.0.index) == [0, 1, 2])
        #expect(done.value.map(\.1.nanoseconds) == [3_000_000, 5_000_000, 6_000_000])
        // Records: a (no trigger), b (queued behind a), c (triggered by a, queued behind b).
        let computes = report.log.records.compactMap { r -> (Int, String, Int64, Int64, [Int])? in
            if case .compute(let step) = r {
                return (step.id, step.label, step.start.nanoseconds, step.end.nanoseconds, step.dependsOn)
            }
            return nil
        }
        #expect(computes.map(\.1) == ["a", "b", "c"])
        #expect(computes.map(\.2) == [0, 3_000_000, 5_000_000])
        #expect(computes[0].4 == [])
        #expect(computes[1].4 == [computes[0].0])
        #expect(computes[2].4 == [computes[0].0, computes[1].0])
    }

    @Test func transferDependsOnTheRecordThatTriggeredIt() throws {
        let topo = try Fixtures.topology(hosts: 2)
        let shells = [
            ScriptShell(start: { h in _ = h.compute(label: "produce", cost: .milliseconds(1)) },
                        computed: { _, h in h.send(to: HostID(1), bytes: 1000, payload: 0, label: "out"); h.finish() }),
            ScriptShell(start: { _ in }, received: { _, h in _ = h.compute(label: "consume", cost: .milliseconds(1)) },
                        computed: { _, h in h.finish() }),
        ]
        let log = try Simulation(topology: topo).run(shells: shells).log
        var ids: [String: Int] = [:]
        var deps: [String: [Int]] = [:]
        for (index, r) in log.records.enumerated() {
            switch r {
            case .compute(let step): ids[step.label] = step.id; deps[step.label] = step.dependsOn; #expect(step.id == index)
            case .transfer(let message): ids[message.label] = message.id; deps[message.label] = message.dependsOn; #expect(message.id == index)
            default: break
            }
        }
        #expect(deps["out"] == [ids["produce"]!])
        #expect(deps["consume"] == [ids["out"]!])
    }

    @Test func ringAllGatherMatchesClosedForm() throws {
        // H hosts on a ring; each step every host forwards the block it last received to its
        // successor. H−1 steps, each on a distinct link: T = (H−1)·(latency + B/bandwidth).
        let h = 6, block = 2_000_000
        let topo = try Fixtures.topology(hosts: h, shape: .ring)
        let have = Shared(Array(repeating: 1, count: h))
        let shells = (0..<h).map { i in
            ScriptShell(start: { host in
                host.send(to: HostID((i + 1) % h), bytes: block, payload: i, label: "block \(i)")
            }, received: { m, host in
                if have.update({ $0[i] += 1; return $0[i] }) == h { host.finish() } else {
                    host.send(to: HostID((i + 1) % h), bytes: block, payload: m.payload, label: "block \(m.payload)")
                }
            })
        }
        let report = try Simulation(topology: topo).run(shells: shells)
        let step: Int64 = 10_000 + 2_000_000
        #expect(report.finish.nanoseconds == Int64(h - 1) * step)
        #expect(report.hostFinishTimes.allSatisfy { $0?.nanoseconds == Int64(h - 1) * step })
        #expect(have.value == Array(repeating: h, count: h))
    }

    @Test func gatherToOneHostMatchesClosedForm() throws {
        // Fully connected: H−1 senders on distinct links, T = latency + B/bandwidth.
        let h = 5, bytes = 4_000_000
        func gather(_ topo: Topology) throws -> [Int: SimInstant] {
            let h = topo.hostCount
            let arrivals = Shared<[Int: SimInstant]>([:])
            let shells = (0..<h).map { i in
                ScriptShell(start: { host in
                    if i != 0 { host.send(to: HostID(0), bytes: bytes, payload: i, label: "part"); host.finish() }
                }, received: { m, host in
                    if arrivals.update({ $0[m.payload] = m.deliveredAt; return $0.count }) == h - 1 { host.finish() }
                })
            }
            _ = try Simulation(topology: topo).run(shells: shells)
            return arrivals.value
        }
        let full = try gather(Fixtures.topology(hosts: h))
        #expect(full.values.allSatisfy { $0.nanoseconds == 10_000 + 4_000_000 })
        // Ring of 4, zero latency: host2's route to host0 is 2→3→0 (tie goes clockwise) and shares
        // link 3→0 with host3: both get half of it, 2·B/bw; host1's direct message takes B/bw.
        let ring = try gather(Fixtures.topology(hosts: 4, shape: .ring, latency: .zero))
        #expect(ring[1]?.nanoseconds == 4_000_000)
        #expect(ring[2]?.nanoseconds == 8_000_000)
        #expect(ring[3]?.nanoseconds == 8_000_000)
    }

    @Test func deadlockNamesTheHostsThatDidNotFinish() throws {
        let topo = try Fixtures.topology(hosts: 3)
        let shells = [
            ScriptShell(start: { _ in }),  // waits for a message that never comes
            ScriptShell(start: { h in h.finish() }),
            ScriptShell(start: { h in _ = h.compute(label: "stuck-after-this", cost: .milliseconds(1)) }),
        ]
        let sim = Simulation(topology: topo)
        #expect {
            try sim.run(shells: shells)
        } throws: { error in
            guard let e = error as? ClusterError, e.code == .deadlock else { return false }
            let text = e.description
            return text.contains("host0") && text.contains("host2") && !text.contains("host1")
                && text.contains("compute 0 completed")
        }
        let report = try sim.runAllowingErrors(shells: shells)
        #expect(report.errors.count == 1)
        #expect(report.finish == SimInstant(nanoseconds: 1_000_000))
    }

    @Test func outOfMemoryIsReportedWithHostNeedAndCapacity() throws {
        let topo = try Fixtures.topology(hosts: 2, memory: 1_000, gpusPerHost: 2)  // 2,000 bytes per host
        let shells = [
            ScriptShell(start: { h in h.finish() }),
            ScriptShell(start: { h in
                let first = h.allocate(bytes: 1_500, label: "weights")
                let second = h.allocate(bytes: 600, label: "kv cache")
                #expect(first && !second)
                h.finish()
            }),
        ]
        let report = try Simulation(topology: topo).runAllowingErrors(shells: shells)
        let e = try #require(report.errors.first)
        #expect(e.code == .outOfMemory)
        #expect(e.description.contains("host1"))
        #expect(e.description.contains("600"))
        #expect(e.description.contains("2000"))
        #expect(e.description.contains("kv cache"))
        #expect(report.hosts[1].counters.memoryPeak == 1_500)
        #expect(report.log.records.contains {
            if case .mark(let point) = $0 { return point.host == HostID(1) && point.label.contains("out of memory") }
            return false
        })
        #expect(throws: ClusterError.self) { try Simulation(topology: topo).run(shells: shells) }
    }

    @Test func messageToUnknownOrFailedHostIsAnErrorNotAHang() throws {
        let topo = try Fixtures.topology(hosts: 2)
        let toUnknown = [
            ScriptShell(start: { h in h.send(to: HostID(7), bytes: 10, payload: 0, label: "lost") }),
            ScriptShell(start: { h in h.finish() }),
        ]
        let r1 = try Simulation(topology: topo).runAllowingErrors(shells: toUnknown)
        #expect(r1.errors.map(\.code) == [.unknownHost])
        #expect(r1.errors.first?.description.contains("lost") == true)

        var failedTopo = topo
        try failedTopo.markFailed(HostID(1))
        let started = Shared([false, false])
        let toFailed = [
            ScriptShell(start: { h in started.update { $0[0] = true }; h.send(to: HostID(1), bytes: 10, payload: 0, label: "hello") }),
            ScriptShell(start: { h in started.update { $0[1] = true }; h.finish() }),
        ]
        let r2 = try Simulation(topology: failedTopo).runAllowingErrors(shells: toFailed)
        #expect(r2.errors.map(\.code) == [.hostFailed])
        #expect(started.value == [true, false])
        #expect(r2.hosts[1].failed)
    }

    @Test func memoryIsTrackedAndLogged() throws {
        let topo = try Fixtures.topology(hosts: 1)
        let shells = [ScriptShell(start: { h in
            h.allocate(bytes: 100, label: "a")
            h.allocate(bytes: 50, label: "b")
            h.free(bytes: 100, label: "a")
            h.finish()
        })]
        let report = try Simulation(topology: topo).run(shells: shells)
        #expect(report.hosts[0].counters.memoryInUse == 50)
        #expect(report.hosts[0].counters.memoryPeak == 150)
        let inUse = report.log.records.compactMap { r -> Int64? in
            if case .memory(let usage) = r { return usage.bytesInUse }
            return nil
        }
        #expect(inUse == [100, 150, 50])
    }

    @Test func measuredTimingChargesTheWallTimeOfTheWork() throws {
        let topo = try Fixtures.topology(hosts: 1)
        let ran = Shared(false)
        let shells = [ScriptShell(start: { h in
            _ = h.compute(label: "sleep", cost: .nanoseconds(1)) { ran.set(true); usleep(3_000) }
        }, computed: { _, h in h.finish() })]
        let measured = try Simulation(topology: topo, options: .init(timing: .measured)).run(shells: shells)
        #expect(ran.value)
        #expect(measured.finish.nanoseconds >= 3_000_000 && measured.finish.nanoseconds < 200_000_000)
        ran.set(false)
        let modeled = try Simulation(topology: topo).run(shells: shells)
        #expect(ran.value)  // the work still runs in modeled mode
        #expect(modeled.finish == SimInstant(nanoseconds: 1))
    }

    @Test(.enabled(if: WallClock.testsEnabled, "wall-clock timing: set STARSIM_WALLCLOCK_TESTS=1"))
    func pacedModeFollowsTheWallClock() throws {
        // 200 ms of simulated time at scale 1.0 in four 50 ms computes; tolerance ±50 ms.
        let topo = try Fixtures.topology(hosts: 2)
        let shells = [
            ScriptShell(start: { h in _ = h.compute(label: "c", cost: .milliseconds(50)) },
                        computed: { t, h in
                            if t.index < 3 { _ = h.compute(label: "c", cost: .milliseconds(50)) } else { h.finish() }
                        }),
            ScriptShell(start: { h in h.send(to: HostID(0), bytes: 1000, payload: 0, label: "m"); h.finish() }),
        ]
        let t0 = Date()
        let report = try Simulation(topology: topo, options: .init(pacing: .paced(1.0))).run(shells: shells)
        let wall = Date().timeIntervalSince(t0)
        #expect(report.finish == .zero + .milliseconds(200))
        #expect(abs(wall - 0.200) < 0.050, "wall \(wall) s for 200 ms simulated at scale 1")
        // Scale 10: 200 ms simulated in ~20 ms of wall time.
        let t1 = Date()
        _ = try Simulation(topology: topo, options: .init(pacing: .paced(10))).run(shells: shells)
        let fast = Date().timeIntervalSince(t1)
        #expect(fast >= 0.019 && fast < 0.100, "wall \(fast) s for 200 ms simulated at scale 10")
    }

    @Test func jobsFromOtherThreadsWakeTheLoop() throws {
        // Host 1 is finished by a detached task on the global executor, i.e. from another thread:
        // the hop onto the host goes through the executor's locked inbox and uv_async_send, while
        // the loop sleeps on paced 1 ms timers for host 0, which keeps the run alive until host 1
        // has finished (or 120 s, far beyond any scheduling delay even on a loaded machine). This
        // checks the cross-thread path; shells should not do this, as the result then depends on
        // thread timing.
        let topo = try Fixtures.topology(hosts: 2)
        let done = Shared(false)
        let shells = [
            ScriptShell(start: { h in _ = h.compute(label: "wait", cost: .milliseconds(1)) },
                        computed: { t, h in
                            if done.value || t.index >= 120_000 { h.finish() } else {
                                _ = h.compute(label: "wait", cost: .milliseconds(1))
                            }
                        }),
            ScriptShell(start: { h in
                let host = h
                Task.detached {
                    await host.finish()
                    done.set(true)
                }
            }),
        ]
        let report = try Simulation(topology: topo, options: .init(pacing: .paced(1.0))).run(shells: shells)
        #expect(done.value)
        #expect(report.hostFinishTimes[1] == .zero)
        #expect(report.errors.isEmpty)
    }

    @Test func aJobArrivingAfterTheRunRunsInsteadOfCrashing() async throws {
        // A task that kept a host actor and touches it after `run` returned.
        let topo = try Fixtures.topology(hosts: 1)
        let kept = Shared<SimHost<Int>?>(nil)
        let shells = [ScriptShell(start: { h in kept.set(h); h.finish() })]
        _ = try Simulation(topology: topo).run(shells: shells)
        let host = try #require(kept.value)
        // From this thread (which ran the loop) and from another one.
        let here = await host.finishedAt
        let elsewhere = await Task.detached { await host.finishedAt }.value
        #expect(here == .zero)
        #expect(elsewhere == .zero)
    }
}
