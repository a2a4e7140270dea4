import DequeModule

/// The per-host program a simulation runs: it reacts to the host starting, to messages arriving and
/// to its own compute steps completing, and acts through the `SimHost` it is handed.
///
/// Every method is called *in the host actor's isolation* (the `isolated SimHost` parameter), on the
/// simulation's loop thread, one at a time across the whole run and in an order fixed by the
/// scheduler, so a shell may keep plain mutable state and call the host's operations synchronously.
/// The `StarSim` module implements shells that interpret attention-algorithm directives.
///
/// ```swift
/// final class Pinger: HostShell {
///     func start(_ host: isolated SimHost<Int>) {
///         if host.id == HostID(0) { host.send(to: HostID(1), bytes: 1 << 20, payload: 42, label: "ping") }
///         else { _ = host.compute(label: "warm-up", cost: .milliseconds(2)) }
///     }
///     func received(_ m: Message<Int>, _ host: isolated SimHost<Int>) { host.finish() }
///     func computed(_ t: ComputeToken, _ host: isolated SimHost<Int>) { host.finish() }
/// }
/// ```
public protocol HostShell<Payload>: AnyObject {
    /// What messages carry (tensors, symbolic descriptors, …).
    associatedtype Payload: Sendable
    /// Called once, at time zero, for every host that is not marked failed (in host-id order).
    func start(_ host: isolated SimHost<Payload>)
    /// A message sent to this host has been fully delivered (`message.deliveredAt == host.now`).
    func received(_ message: Message<Payload>, _ host: isolated SimHost<Payload>)
    /// The compute step `token` (returned by `host.compute`) has completed (`host.now` is its end).
    func computed(_ token: ComputeToken, _ host: isolated SimHost<Payload>)
}

/// Identifies one compute step of one host; returned by `SimHost.compute`, passed back to
/// `HostShell.computed`. `index` counts the host's compute calls from 0.
public struct ComputeToken: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let host: HostID
    public let index: Int
    public init(host: HostID, index: Int) { self.host = host; self.index = index }
    public static func < (a: ComputeToken, b: ComputeToken) -> Bool { (a.host, a.index) < (b.host, b.index) }
    public var description: String { "\(host).compute\(index)" }
}

/// A delivered message.
public struct Message<Payload: Sendable>: Sendable {
    public let flow: FlowID
    public let from: HostID
    public let to: HostID
    /// Size charged to the network, bytes.
    public let bytes: Int
    public let payload: Payload
    public let label: String
    public let phase: PhaseTag
    /// When the sender handed it to the network.
    public let sentAt: SimInstant
    /// When its last byte arrived (the time of the `received` callback).
    public let deliveredAt: SimInstant
}

/// Per-host counters, updated as the run goes.
public struct HostCounters: Sendable, Hashable {
    /// Sum of the durations of this host's compute steps.
    public var busy: SimDuration = .zero
    public var computeSteps = 0
    public var messagesSent = 0
    public var messagesReceived = 0
    // Bytes sent and received are counted in one place, `RunCounters` (from the run log).
    /// Bytes allocated and not freed.
    public var memoryInUse: Int64 = 0
    /// Highest `memoryInUse` seen.
    public var memoryPeak: Int64 = 0
    public init() {}
}

/// One simulated host: an actor whose executor is the simulation's libuv loop.
///
/// A host has a device profile and `gpusPerHost` devices, memory capacity = device capacity × GPUs,
/// a compute queue (one compute step at a time; sends and receives overlap compute), and counters.
/// Shells act on it through the operations below, which are synchronous and must be called from the
/// shell callbacks (which run in this actor's isolation). Every operation is recorded in the `RunLog`
/// with its causal dependencies (see `Docs/Cluster.md`).
public actor SimHost<Payload: Sendable> {
    /// This host's id, `0..<hostCount`.
    public nonisolated let id: HostID
    /// Number of hosts in the run.
    public nonisolated let hostCount: Int
    public nonisolated let device: DeviceProfile
    public nonisolated let gpusPerHost: Int
    /// `device.memoryCapacityBytes × gpusPerHost`, bytes.
    public nonisolated let memoryCapacityBytes: Int64

    private nonisolated let executor: LoopExecutor
    /// The host runs on the simulation's loop thread, like every other actor of the run.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Weak: a task that kept this host may call it after the run ended and the scheduler is gone;
    /// such late calls then update only the host's own state instead of crashing.
    weak var scheduler: Scheduler<Payload>?
    private var shell: any HostShell<Payload>
    private let measured: Bool

    /// The current virtual time (the time of the event being handled).
    public private(set) var now: SimInstant = .zero
    public private(set) var counters = HostCounters()
    /// When `finish()` was called, if it was.
    public private(set) var finishedAt: SimInstant?

    /// The record whose completion triggered the callback now running (nil during `start`).
    private var cause: Int?
    private struct PendingCompute {
        var token: ComputeToken
        var label: String
        var phase: PhaseTag
        var cost: SimDuration
        var work: (() -> Void)?
        var cause: Int?
    }
    private var queue = Deque<PendingCompute>()
    private var running = false
    private var lastComputeRecord: Int?
    private var nextToken = 0
    /// What last happened to / was done by this host, kept cheap (formatted only for reports).
    enum Activity: Sendable {
        case none
        case started(SimInstant)
        case completedCompute(Int, SimInstant)
        case received(label: String, from: HostID, SimInstant)
        case queuedCompute(label: String)
        case sent(label: String, to: HostID)
        case allocated(Int64, label: String)
        case failedAllocation(Int64, label: String)
        case freed(Int64, label: String)
        case finished

        var text: String {
            switch self {
            case .none: "nothing"
            case .started(let t): "started at \(t)"
            case .completedCompute(let i, let t): "compute \(i) completed at \(t)"
            case .received(let l, let f, let t): "received '\(l)' from \(f) at \(t)"
            case .queuedCompute(let l): "queued compute '\(l)'"
            case .sent(let l, let to): "sent '\(l)' to \(to)"
            case .allocated(let b, let l): "allocated \(b) bytes for '\(l)'"
            case .failedAllocation(let b, let l): "failed to allocate \(b) bytes for '\(l)'"
            case .freed(let b, let l): "freed \(b) bytes for '\(l)'"
            case .finished: "finished"
            }
        }
    }
    private var lastEvent = Activity.none
    private var lastAction = Activity.none

    init(id: HostID, hostCount: Int, device: DeviceProfile, gpusPerHost: Int, executor: LoopExecutor,
         scheduler: Scheduler<Payload>, shell: LoopBound<any HostShell<Payload>>, measured: Bool) {
        self.id = id
        self.hostCount = hostCount
        self.device = device
        self.gpusPerHost = gpusPerHost
        self.memoryCapacityBytes = device.memoryCapacityBytes * Int64(gpusPerHost)
        self.executor = executor
        self.scheduler = scheduler
        self.shell = shell.value
        self.measured = measured
    }

    // MARK: Operations for shells

    /// Queues a compute step behind this host's earlier ones and returns its token; `computed` is
    /// called with the token when it ends.
    ///
    /// - Parameters:
    ///   - label: what it is (e.g. `"attend L3 block 2"`), shown in traces.
    ///   - phase: a grouping for reports (e.g. `"prefill"`).
    ///   - cost: its duration in `.modeled` timing mode (the default, deterministic). Must be >= 0.
    ///   - work: real work to run when the step starts (e.g. the attention math). In `.measured`
    ///     timing mode the step lasts the wall time `work` took, and `cost` is ignored; in `.modeled`
    ///     mode it runs but its wall time is ignored.
    /// - Returns: the token `computed` will be called with.
    public func compute(label: String, phase: PhaseTag = .none, cost: SimDuration,
                        work: (() -> Void)? = nil) -> ComputeToken {
        precondition(cost >= .zero, "compute '\(label)' on \(id): cost must be >= 0, got \(cost.nanoseconds) ns")
        let token = ComputeToken(host: id, index: nextToken)
        nextToken += 1
        let pending = PendingCompute(token: token, label: label, phase: phase, cost: cost, work: work, cause: cause)
        lastAction = .queuedCompute(label: label)
        if !running && queue.isEmpty {
            begin(pending, queued: false)
        } else {
            queue.append(pending)
        }
        return token
    }

    /// Sends `bytes` bytes carrying `payload` to `destination` through the network (over the
    /// topology's route, sharing link bandwidth with concurrent messages). The destination's
    /// `received` is called when the last byte arrives. Sending does not occupy the compute queue.
    ///
    /// A message to an unknown or failed host stops the run with a `ClusterError` (`run` throws it).
    public func send(to destination: HostID, bytes: Int, payload: Payload, label: String, phase: PhaseTag = .none) {
        precondition(bytes >= 0, "send '\(label)' from \(id): bytes must be >= 0, got \(bytes)")
        counters.messagesSent += 1
        lastAction = .sent(label: label, to: destination)
        let from = id, now = now, cause = cause
        scheduler?.assumeIsolated { s in
            s.startFlow(from: from, to: destination, bytes: bytes, payload: payload, label: label,
                        phase: phase, at: now, cause: cause)
        }
    }

    /// Reserves `bytes` of this host's memory. Returns false, records an out-of-memory mark and stops
    /// the run with `ClusterError.outOfMemory` (naming host, bytes needed, capacity and `label`) when
    /// the reservation would exceed `memoryCapacityBytes`; memory in use is then unchanged.
    @discardableResult
    public func allocate(bytes: Int64, label: String) -> Bool {
        precondition(bytes >= 0, "allocate '\(label)' on \(id): bytes must be >= 0, got \(bytes)")
        let inUse = counters.memoryInUse
        if inUse + bytes > memoryCapacityBytes {
            let host = id, now = now, capacity = memoryCapacityBytes
            lastAction = .failedAllocation(bytes, label: label)
            scheduler?.assumeIsolated { s in
                s.fail(.outOfMemory(host: host, neededBytes: bytes, inUseBytes: inUse, capacityBytes: capacity,
                                    label: label),
                       host: host, at: now,
                       mark: "out of memory: '\(label)' needs \(bytes) bytes, \(inUse) of \(capacity) in use")
            }
            return false
        }
        counters.memoryInUse = inUse + bytes
        counters.memoryPeak = max(counters.memoryPeak, counters.memoryInUse)
        recordMemory(label: label)
        lastAction = .allocated(bytes, label: label)
        return true
    }

    /// Releases `bytes` of this host's memory. - Precondition: at most the bytes in use.
    public func free(bytes: Int64, label: String) {
        precondition(bytes >= 0 && bytes <= counters.memoryInUse,
                     "free '\(label)' on \(id): \(bytes) bytes requested, \(counters.memoryInUse) in use")
        counters.memoryInUse -= bytes
        recordMemory(label: label)
        lastAction = .freed(bytes, label: label)
    }

    /// Declares this host done. A run ends when no event is pending; any non-failed host that has not
    /// finished by then is reported in `ClusterError.deadlock`. Messages may still be delivered to a
    /// finished host. Calling it twice has no further effect.
    public func finish() {
        guard finishedAt == nil else { return }
        finishedAt = now
        lastAction = .finished
        let host = id, now = now
        scheduler?.assumeIsolated { s in s.hostFinished(host, at: now) }
    }

    /// Memory currently reserved, bytes.
    public var memoryInUse: Int64 { counters.memoryInUse }

    // MARK: Engine side

    private func recordMemory(label: String) {
        let host = id, now = now, inUse = counters.memoryInUse
        scheduler?.assumeIsolated { s in
            _ = s.record { .memory(id: $0, host: host, at: now, bytesInUse: inUse, label: label) }
        }
    }

    private func begin(_ p: PendingCompute, queued: Bool) {
        var cost = p.cost
        if let work = p.work {
            if measured {
                let t0 = WallClock.nanoseconds()
                work()
                cost = SimDuration(nanoseconds: Int64(WallClock.nanoseconds() &- t0))
            } else {
                work()
            }
        }
        running = true
        var deps: [Int] = []
        if let c = p.cause { deps.append(c) }
        if queued, let prev = lastComputeRecord, prev != p.cause { deps.append(prev) }
        let host = id, start = now, token = p.token, label = p.label, phase = p.phase
        var end = start + cost
        let record = scheduler?.assumeIsolated { s in
            end = s.computeEnd(host: host, start: start, cost: cost)  // a straggler runs slower
            return s.startCompute(host: host, token: token, label: label, phase: phase, start: start, end: end,
                                  dependsOn: deps)
        }
        lastComputeRecord = record
        counters.busy = counters.busy + (end - start)
        counters.computeSteps += 1
    }

    func handleStart(at time: SimInstant) {
        now = time
        cause = nil
        lastEvent = .started(time)
        shell.start(self)
    }

    /// The host was lost at `time`: queued work, memory and program state are gone. `shell` is the
    /// program the spare will run; it starts with `handleStart` when the spare is up.
    func reset(at time: SimInstant, shell: LoopBound<any HostShell<Payload>>) {
        now = time
        queue.removeAll()
        running = false
        lastComputeRecord = nil
        finishedAt = nil
        cause = nil
        if counters.memoryInUse > 0 {
            counters.memoryInUse = 0
            recordMemory(label: "lost with the host")
        }
        self.shell = shell.value
        lastEvent = .none
        lastAction = .none
    }

    func handleComputeDone(_ token: ComputeToken, record: Int, at time: SimInstant) {
        now = time
        running = false
        if let next = queue.popFirst() { begin(next, queued: true) }
        cause = record
        lastEvent = .completedCompute(token.index, time)
        shell.computed(token, self)
    }

    func handleDelivery(_ message: Message<Payload>, record: Int, at time: SimInstant) {
        now = time
        counters.messagesReceived += 1
        cause = record
        lastEvent = .received(label: message.label, from: message.from, time)
        shell.received(message, self)
    }

    func summary(failed: Bool) -> HostSummary {
        HostSummary(id: id, finishedAt: finishedAt, failed: failed, counters: counters,
                    lastEvent: lastEvent.text, lastAction: lastAction.text)
    }
}

/// Carries a value that is not `Sendable` into the loop thread's actors.
///
/// `@unchecked Sendable`: `Simulation.run` runs the loop on the calling thread, so the shells it is
/// given are only ever touched on that thread: created by the caller before the run, used by their
/// host actor (all of whose jobs run on the loop thread) during it, and given back to the caller,
/// on the same thread, after `run` returns.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
}
