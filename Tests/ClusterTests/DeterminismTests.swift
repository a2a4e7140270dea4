import Cluster
import Testing
import TestSupport

/// A host that plays a pseudo-random but seeded protocol: on every event it may compute, send to
/// other hosts (sizes and destinations drawn from its own generator), allocate and free memory, and
/// it finishes after a fixed number of rounds. Many messages overlap on shared links, many computes
/// queue, and many events share an instant, so any dependence on thread timing would show.
final class ChattyShell: HostShell {
    typealias Payload = [Int]
    private var rng: SplitMix64
    private let rounds: Int
    private var round = 0
    private var pendingComputes = 0
    private(set) var received = 0

    init(seed: UInt64, rounds: Int) {
        rng = SplitMix64(seed: seed)
        self.rounds = rounds
    }

    private func next(_ n: Int) -> Int {
        Int(rng.next() % UInt64(n))
    }

    private func act(_ host: isolated SimHost<[Int]>) {
        guard round < rounds else {
            if pendingComputes == 0 { host.finish() }
            return
        }
        round += 1
        for _ in 0..<(1 + next(2)) {
            pendingComputes += 1
            // Costs on a 1 µs grid, so computes on different hosts often end at the same instant.
            _ = host.compute(label: "r\(round)", phase: "p\(round % 3)", cost: .microseconds(Int64(1 + next(4))))
        }
        for _ in 0..<next(3) {
            var to = next(host.hostCount)
            if to == host.id.rawValue { to = (to + 1) % host.hostCount }
            host.send(to: HostID(to), bytes: 1_000 * (1 + next(50)), payload: [host.id.rawValue, round],
                      label: "m\(round)", phase: "p\(round % 3)")
        }
        if next(4) == 0 {
            let bytes = Int64(1 + next(1_000))
            host.allocate(bytes: bytes, label: "buf\(round)")
            host.free(bytes: bytes, label: "buf\(round)")
        }
    }

    func start(_ host: isolated SimHost<[Int]>) { act(host) }
    func received(_ message: Message<[Int]>, _ host: isolated SimHost<[Int]>) {
        received += 1
        act(host)
    }
    func computed(_ token: ComputeToken, _ host: isolated SimHost<[Int]>) {
        pendingComputes -= 1
        if round >= rounds, pendingComputes == 0 { host.finish() } else if next(2) == 0 { act(host) }
    }
}

@Suite("Determinism")
struct DeterminismTests {
    func runOnce(shape: TopologyShape) throws -> (String, RunReport) {
        let topo = try Fixtures.topology(hosts: 8, shape: shape, bandwidth: 1e9, latency: .microseconds(2))
        let shells = (0..<8).map { ChattyShell(seed: UInt64($0) * 1_000_003 + 17, rounds: 30) }
        let report = try Simulation(topology: topo).run(shells: shells)
        return (Fixtures.serialize(report.log), report)
    }

    @Test(arguments: [TopologyShape.fullyConnected, .ring])
    func twentyRunsGiveByteIdenticalLogs(shape: TopologyShape) throws {
        let (first, report) = try runOnce(shape: shape)
        // The scenario is big enough to mean something.
        let transfers = report.log.records.filter { if case .transfer = $0 { true } else { false } }.count
        let computes = report.log.records.filter { if case .compute = $0 { true } else { false } }.count
        #expect(transfers > 150, "\(transfers) transfers")
        #expect(computes > 250, "\(computes) computes")
        #expect(report.hostFinishTimes.allSatisfy { $0 != nil })
        for run in 1..<20 {
            let (again, _) = try runOnce(shape: shape)
            #expect(again == first, "run \(run) differs from run 0")
            if again != first { break }
        }
    }

    @Test func virtualTimeNeverGoesBackwardsInTheLog() throws {
        // Records are appended when they start; their start times must be non-decreasing.
        let (_, report) = try runOnce(shape: .ring)
        var last = SimInstant.zero
        for r in report.log.records {
            let t: SimInstant
            switch r {
            case .compute(let step): t = step.start; #expect(step.end >= step.start)
            case .transfer(let message): t = message.sent; #expect(message.delivered >= message.sent)
            case .memory(let usage): t = usage.at
            case .mark(let point): t = point.at
            }
            #expect(t >= last)
            last = t
        }
    }
}
