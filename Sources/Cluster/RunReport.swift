/// The outcome of one `Simulation` run.
public struct RunReport: Sendable {
    /// The time of the last event handled (the makespan when the run completed normally).
    public var finish: SimInstant
    /// Everything that happened, in order (empty records when `SimulationOptions.recordsLog` is off).
    public var log: RunLog
    /// Bytes, busy time and memory per host, link and phase, streamed as the run went (present
    /// whether or not the log was kept; equal to `RunCounters(log:topology:)` when it was).
    public var counters: RunCounters
    /// One entry per host, indexed by host id.
    public var hosts: [HostSummary]
    /// Errors that stopped the run (out of memory, message to an unknown or failed host) or were found
    /// at its end (deadlock). Empty for a successful run. `Simulation.run` throws the first one.
    public var errors: [ClusterError]
    /// Events handled: host starts, compute completions and message deliveries.
    public var eventsProcessed: Int
    /// Wall-clock duration of the run, seconds.
    public var wallSeconds: Double
    /// Jobs the loop executor ran (task starts, resumptions after pacing sleeps and loop yields,
    /// and any actor hop the runtime could not perform in place). Diagnostic.
    public var executorJobs: Int = 0
    /// What the run's faults did (empty without faults).
    public var faults = FaultOutcome()

    /// When each host called `finish()` (nil if it did not), indexed by host id.
    public var hostFinishTimes: [SimInstant?] { hosts.map(\.finishedAt) }
}

/// What one host did during a run.
public struct HostSummary: Sendable, Hashable {
    public var id: HostID
    /// When the host called `finish()`, if it did.
    public var finishedAt: SimInstant?
    /// The host was marked failed in the topology and never started.
    public var failed: Bool
    public var counters: HostCounters
    /// The last thing that happened to the host (its last callback), for diagnostics.
    public var lastEvent: String
    /// The last operation the host performed, for diagnostics.
    public var lastAction: String
}
