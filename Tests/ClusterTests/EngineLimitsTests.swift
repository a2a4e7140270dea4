import Cluster
import Foundation
import Testing
import TestSupport

/// The engine's bounds: counters streamed without a log equal those computed from the log, time
/// saturates instead of trapping, and runs stop with an error at the event limit and the time horizon.
@Suite("Engine limits")
struct EngineLimitsTests {
    /// A ping-pong of messages with computes between them, long enough that the streamed counters
    /// compact their busy intervals several times.
    private func pingPong(rounds: Int) -> [ScriptShell] {
        let bounce: (Message<Int>, isolated SimHost<Int>) -> Void = { m, h in
            if m.payload >= rounds { h.finish(); return }
            _ = h.compute(label: "work", phase: "p\(m.payload % 3)", cost: .microseconds(3))
            h.send(to: m.from, bytes: 1000 + m.payload % 7, payload: m.payload + 1, label: "ball", phase: "p\(m.payload % 3)")
            if m.payload + 1 >= rounds { h.finish() }
        }
        return [
            ScriptShell(start: { h in h.send(to: HostID(1), bytes: 1000, payload: 0, label: "ball", phase: "p0") }, received: bounce),
            ScriptShell(start: { _ in }, received: bounce),
        ]
    }

    @Test func streamedCountersEqualCountersFromTheLog() throws {
        let topo = try Fixtures.topology(hosts: 2)
        let logged = try Simulation(topology: topo, options: SimulationOptions(recordsLog: true)).run(shells: pingPong(rounds: 70_000))
        let streamed = try Simulation(topology: topo, options: SimulationOptions(recordsLog: false)).run(shells: pingPong(rounds: 70_000))
        #expect(streamed.log.records.isEmpty)
        let fromLog = RunCounters(log: logged.log, topology: topo)
        #expect(logged.counters == fromLog)
        #expect(streamed.counters == fromLog)
        #expect(fromLog.hosts.allSatisfy { $0.busy > .zero } && fromLog.links.contains { $0.busy > .zero })
    }

    @Test func timeArithmeticSaturatesInsteadOfTrapping() {
        #expect(SimDuration.seconds(1e300).nanoseconds == .max)
        #expect((SimInstant(nanoseconds: .max - 1) + .seconds(10)).nanoseconds == .max)
        #expect((SimDuration(nanoseconds: .max) + .nanoseconds(1)).nanoseconds == .max)
        #expect((SimDuration(nanoseconds: .max / 2) * 3).nanoseconds == .max)
    }

    @Test func aRunPastTheHorizonStopsWithAnError() throws {
        // 1 KB/s (the slowest link a profile may give) and a 1 PB message: ~31,700 years.
        let topo = try Fixtures.topology(hosts: 2, bandwidth: 1e3)
        let shells = [
            ScriptShell(start: { h in h.send(to: HostID(1), bytes: 1 << 50, payload: 0, label: "huge"); h.finish() }),
            ScriptShell(start: { _ in }, received: { _, h in h.finish() }),
        ]
        do {
            _ = try Simulation(topology: topo).run(shells: shells)
            Issue.record("a 31,700-year transfer was simulated")
        } catch let error as ClusterError {
            #expect(error.code == .pastHorizon, "\(error)")
        }
    }

    @Test func aRunStopsAtTheEventLimit() throws {
        let topo = try Fixtures.topology(hosts: 2)
        do {
            _ = try Simulation(topology: topo, options: SimulationOptions(recordsLog: false, eventLimit: 1000))
                .run(shells: pingPong(rounds: 10_000))
            Issue.record("the event limit was not enforced")
        } catch let error as ClusterError {
            #expect(error.code == .tooManyEvents && error.description.contains("1000"), "\(error)")
        }
    }
}
