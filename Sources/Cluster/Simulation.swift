/// How a run maps virtual time to the wall clock, and how compute steps are timed.
public struct SimulationOptions: Sendable, Hashable {
    public enum Pacing: Sendable, Hashable {
        /// Virtual time jumps straight to the next event.
        case asFastAsPossible
        /// Virtual time follows the wall clock at `scale` simulated seconds per wall second, through
        /// real libuv timers (1 ms resolution): `0.001` shows 1 simulated ms per wall second, `1.0`
        /// is real time. Must be finite and > 0.
        case paced(Double)
    }

    public enum Timing: Sendable, Hashable {
        /// A compute step lasts its `cost` (deterministic; its `work` still runs).
        case modeled
        /// A compute step lasts the wall time its `work` took (not reproducible).
        case measured
    }

    public var pacing: Pacing
    public var timing: Timing
    /// Keep every record in `RunReport.log` (turn off for benchmarks: memory then stays flat).
    public var recordsLog: Bool
    /// In `.asFastAsPossible` mode, events handled between two turns of the libuv loop.
    public var batchSize: Int
    /// Events after which the run stops with `ClusterError.tooManyEvents` (default
    /// `InputLimits.engineEventLimit`), so that no input runs unbounded.
    public var eventLimit: Int
    /// Called every `progressInterval` events with (events handled, current simulated time), on the
    /// simulation's thread; for progress display of long runs.
    public var progress: (@Sendable (Int, SimInstant) -> Void)?
    public var progressInterval: Int = 200_000
    /// Slow or failed links, stragglers and lost hosts (`Docs/Faults.md`); none by default.
    public var faults: FaultPlan = .none

    public init(pacing: Pacing = .asFastAsPossible, timing: Timing = .modeled, recordsLog: Bool = true,
                batchSize: Int = 4096, eventLimit: Int = InputLimits.engineEventLimit,
                progress: (@Sendable (Int, SimInstant) -> Void)? = nil) {
        self.pacing = pacing
        self.timing = timing
        self.recordsLog = recordsLog
        self.batchSize = batchSize
        self.eventLimit = eventLimit
        self.progress = progress
    }

    public static func == (a: SimulationOptions, b: SimulationOptions) -> Bool {
        a.pacing == b.pacing && a.timing == b.timing && a.recordsLog == b.recordsLog && a.batchSize == b.batchSize
            && a.eventLimit == b.eventLimit && a.progressInterval == b.progressInterval && a.faults == b.faults
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(pacing)
        hasher.combine(timing)
        hasher.combine(recordsLog)
        hasher.combine(batchSize)
        hasher.combine(eventLimit)
        hasher.combine(faults)
    }
}

/// A discrete-event simulation of a cluster: hosts (actors) running `HostShell`s, a flow-level
/// network over a `Topology`, one virtual clock.
///
/// `run` is synchronous: it creates a libuv loop *on the calling thread*, makes it the executor of
/// the scheduler and host actors, runs it until the simulation ends, and closes it. Shells are only
/// touched on that thread, so the caller can inspect them after `run` returns. Runs on different
/// threads are independent. Same topology, options (with `.modeled` timing) and shells ⇒ the same
/// `RunLog`, byte for byte.
public final class Simulation: Sendable {
    public let topology: Topology
    public let options: SimulationOptions

    public init(topology: Topology, options: SimulationOptions = SimulationOptions()) {
        if case .paced(let scale) = options.pacing {
            precondition(scale.isFinite && scale > 0, "paced scale must be finite and > 0, got \(scale)")
        }
        precondition(options.batchSize > 0, "batchSize must be > 0, got \(options.batchSize)")
        self.topology = topology
        self.options = options
    }

    /// Runs `shells[i]` on host `i` until no event is pending.
    ///
    /// - Precondition: `shells.count == topology.hostCount`.
    /// - Throws: the first `ClusterError` of the run (`.outOfMemory`, `.unknownHost`, `.hostFailed`,
    ///   `.deadlock` listing the hosts that did not finish and what they last did), or `UVError`.
    public func run<Payload: Sendable>(shells: [any HostShell<Payload>]) throws -> RunReport {
        let report = try runAllowingErrors(shells: shells)
        if let first = report.errors.first { throw first }
        return report
    }

    /// As `run(shells:)` for shells of one concrete type.
    public func run<Shell: HostShell>(shells: [Shell]) throws -> RunReport {
        try run(shells: shells.map { $0 as any HostShell<Shell.Payload> })
    }

    /// As `run(shells:)`; `respawn(host)` gives the program a spare runs when `host` is lost
    /// (`SimulationOptions.faults`), a fresh one in its initial state.
    public func run<Payload: Sendable>(shells: [any HostShell<Payload>],
                                       respawn: @escaping (HostID) -> any HostShell<Payload>) throws -> RunReport {
        let report = try runAllowingErrors(shells: shells, respawn: respawn)
        if let first = report.errors.first { throw first }
        return report
    }

    /// As `run(shells:)`, but returns the report even when the run hit errors (in `report.errors`).
    /// An invalid fault plan (`FaultPlan.validate`) is such an error, found before anything runs.
    public func runAllowingErrors<Payload: Sendable>(
        shells: [any HostShell<Payload>], respawn: ((HostID) -> any HostShell<Payload>)? = nil
    ) throws(UVError) -> RunReport {
        precondition(shells.count == topology.hostCount,
                     "run needs one shell per host: \(topology.hostCount) hosts, \(shells.count) shells")
        do {
            try options.faults.validate(against: topology)
        } catch {
            return RunReport(finish: .zero, log: RunLog(hosts: [], links: []),
                             counters: RunCounters.Accumulator(hosts: [], links: []).counters(), hosts: [],
                             errors: [error], eventsProcessed: 0, wallSeconds: 0)
        }
        let loop = try UVLoop()
        let executor = LoopExecutor(loop: loop, batchSize: options.batchSize)
        let scheduler = Scheduler<Payload>(topology: topology, options: options, executor: executor,
                                           respawn: respawn.map { LoopBound(value: $0) })
        var hosts: [SimHost<Payload>] = []
        hosts.reserveCapacity(shells.count)
        for (i, shell) in shells.enumerated() {
            hosts.append(SimHost(id: HostID(i), hostCount: topology.hostCount, device: topology.device,
                                 gpusPerHost: topology.gpusPerHost, executor: executor, scheduler: scheduler,
                                 shell: LoopBound(value: shell), measured: options.timing == .measured))
        }
        let box = ReportBox()
        let bound = LoopBound(value: hosts)
        Task(executorPreference: executor) {
            await scheduler.attach(bound.value)
            let report = await scheduler.drive()
            box.report = report
            executor.stopLoop()
        }
        do {
            try loop.run()
        } catch {
            _ = executor.finishAfterRun()
            try? loop.close()
            throw error
        }
        _ = executor.finishAfterRun()
        try loop.close()
        guard var report = box.report else {
            preconditionFailure("the simulation loop stopped before the scheduler finished")
        }
        report.executorJobs = executor.jobsRun
        return report
    }
}

/// Hands the report from the driver task to `runAllowingErrors`.
///
/// `@unchecked Sendable`: written once by the driver task, which runs on the loop thread, and read
/// after `loop.run()` has returned, on the same thread.
private final class ReportBox: @unchecked Sendable {
    var report: RunReport?
}
