/// The one owner of virtual time in a run: the event queue, the network, the run log.
///
/// An actor on the loop executor (like the hosts), so the driver's `await host.handle…` calls are
/// actor hops that the runtime performs in place (same serial executor) and host operations reach
/// the scheduler synchronously with `assumeIsolated`. Events are handled one at a time, each to
/// completion, in `EventQueue` order; network deliveries due at the same instant as queued events
/// are handled first. Nothing depends on thread timing, so equal inputs give an identical `RunLog`.
actor Scheduler<Payload: Sendable> {
    enum Event: Sendable {
        case start(host: Int)
        case computeDone(host: Int, token: ComputeToken, record: Int)
    }

    private struct InFlight {
        var from: HostID
        var to: HostID
        var bytes: Int
        var payload: Payload
        var label: String
        var phase: PhaseTag
        var sentAt: SimInstant
        var route: [LinkID]
        /// Record id (== index in `log.records` when logging) of the transfer; `cause` its trigger.
        var record: Int
        var cause: Int?
    }

    private nonisolated let executor: LoopExecutor
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let options: SimulationOptions
    private let topology: Topology
    private var network: FlowNetwork
    private var networkNext: SimInstant?
    private var events = EventQueue<Event>()
    private var hosts: [SimHost<Payload>] = []
    private var log: RunLog
    private var counters: RunCounters.Accumulator
    private var countedSinceCompaction = 0
    private var nextRecord = 0
    private var nextFlow = 0
    private var inFlight: [FlowID: InFlight] = [:]
    private var errors: [ClusterError] = []
    private var aborted = false
    private var unfinished: Set<HostID> = []
    private var eventsProcessed = 0
    private var nextProgress = 0
    private(set) var now: SimInstant = .zero

    /// `InputLimits.simulatedTimeHorizonSeconds` in nanoseconds.
    static var horizonNanoseconds: Int64 { Int64(InputLimits.simulatedTimeHorizonSeconds * 1e9) }

    init(topology: Topology, options: SimulationOptions, executor: LoopExecutor) {
        self.topology = topology
        self.options = options
        self.executor = executor
        self.network = FlowNetwork(topology: topology)
        self.log = RunLog(hosts: topology.hosts.map { RunLog.HostInfo(id: $0, name: $0.description) },
                          links: topology.links)
        self.counters = RunCounters.Accumulator(hosts: topology.hosts, links: topology.links, topology: topology)
    }

    func attach(_ hosts: [SimHost<Payload>]) {
        self.hosts = hosts
    }

    // MARK: Used by hosts (synchronously, through assumeIsolated)

    /// Appends the record built from a fresh id (when logging) and returns the id.
    @inline(__always)
    func record(_ make: (Int) -> RunLog.Record) -> Int {
        let id = nextRecord
        nextRecord += 1
        let r = make(id)
        if options.recordsLog { log.records.append(r) }
        // A transfer is counted when it is delivered (its record is completed then).
        if case .transfer = r {} else { count(r) }
        return id
    }

    /// Feeds a finished record to the run's counters; every 64K records, folds busy intervals that
    /// can no longer grow (memory stays flat however long the run).
    private func count(_ r: RunLog.Record) {
        counters.add(r)
        countedSinceCompaction += 1
        if countedSinceCompaction >= 65_536 {
            countedSinceCompaction = 0
            let oldestInFlight = inFlight.values.lazy.map(\.sentAt).min() ?? now
            counters.compact(computeWatermark: now, linkWatermark: min(now, oldestInFlight))
        }
    }

    func schedule(_ event: Event, at time: SimInstant) {
        events.push(event, at: time)
    }

    func startFlow(from: HostID, to: HostID, bytes: Int, payload: Payload, label: String, phase: PhaseTag,
                   at time: SimInstant, cause: Int?) {
        let context = "send '\(label)' from \(from) to \(to)"
        if !topology.contains(to) {
            fail(.unknownHost(to, hostCount: topology.hostCount, context: context), host: from, at: time,
                 mark: "message '\(label)' to unknown host \(to.rawValue)")
            return
        }
        if topology.isFailed(to) {
            fail(.hostFailed(to, messageFrom: from, context: context), host: from, at: time,
                 mark: "message '\(label)' to failed host \(to)")
            return
        }
        let flow = FlowID(nextFlow)
        nextFlow += 1
        do {
            try network.start(flow, from: from, to: to, bytes: bytes, at: time, phase: phase)
        } catch {
            fail(error, host: from, at: time, mark: "message '\(label)' rejected by the network")
            return
        }
        let route = network.route(of: flow) ?? []
        let deps = cause.map { [$0] } ?? []
        // The transfer's record is reserved now (ids follow start order) and completed on delivery.
        let record = record {
            .transfer(id: $0, flow: flow, from: from, to: to, route: route, bytes: bytes, label: label,
                      phase: phase, sent: time, delivered: time, dependsOn: deps)
        }
        inFlight[flow] = InFlight(from: from, to: to, bytes: bytes, payload: payload, label: label, phase: phase,
                                  sentAt: time, route: route, record: record, cause: cause)
        networkNext = network.nextEventTime()
    }

    func hostFinished(_ host: HostID, at time: SimInstant) {
        unfinished.remove(host)
        _ = record { .mark(id: $0, host: host, at: time, label: "finish") }
    }

    /// Records `error` (with a mark on `host`) and stops the run after the current event.
    func fail(_ error: ClusterError, host: HostID, at time: SimInstant, mark: String) {
        errors.append(error)
        aborted = true
        _ = record { .mark(id: $0, host: host, at: time, label: mark) }
    }

    // MARK: Driver

    /// Runs the whole simulation and returns its report. Called once, from a task on the loop.
    func drive() async -> RunReport {
        let wallStart = WallClock.nanoseconds()
        for host in topology.hosts {
            if topology.isFailed(host) {
                _ = record { .mark(id: $0, host: host, at: .zero, label: "failed") }
            } else {
                unfinished.insert(host)
                events.push(.start(host: host.rawValue), at: .zero)
            }
        }
        var sinceYield = 0
        var lastPaced = SimInstant(nanoseconds: -1)
        while !aborted {
            let heapNext = events.nextTime
            let fromNetwork: Bool
            let time: SimInstant
            switch (heapNext, networkNext) {
            case (nil, nil): fromNetwork = false; time = now
            case (let h?, nil): fromNetwork = false; time = h
            case (nil, let n?): fromNetwork = true; time = n
            case (let h?, let n?): fromNetwork = n <= h; time = fromNetwork ? n : h
            }
            if heapNext == nil && networkNext == nil { break }

            switch options.pacing {
            case .asFastAsPossible:
                sinceYield += 1
                if sinceYield >= options.batchSize {
                    sinceYield = 0
                    await executor.yieldToLoop()
                }
            case .paced(let scale):
                if time != lastPaced {
                    lastPaced = time
                    await pace(until: time, scale: scale, wallStart: wallStart)
                }
            }

            if eventsProcessed >= options.eventLimit {
                errors.append(.tooManyEvents(limit: options.eventLimit, at: now))
                aborted = true
                break
            }
            if time.nanoseconds > Self.horizonNanoseconds {
                errors.append(.pastHorizon(at: time, label: fromNetwork ? "a message delivery" : "a compute step"))
                aborted = true
                break
            }
            if let progress = options.progress, eventsProcessed >= nextProgress {
                nextProgress = eventsProcessed + max(1, options.progressInterval)
                if eventsProcessed > 0 { progress(eventsProcessed, now) }
            }
            if fromNetwork {
                events.advance(to: time)
                now = time
                let deliveries = network.advanceDeliveries(to: time)
                networkNext = network.nextEventTime()
                for d in deliveries {
                    // After an error, the remaining deliveries are reported as undelivered (below).
                    if aborted { break }
                    guard let f = inFlight.removeValue(forKey: d.flow) else {
                        preconditionFailure("network delivered \(d.flow), which the scheduler never started")
                    }
                    network.forget(d.flow)
                    let delivered = RunLog.Record.transfer(
                        id: f.record, flow: d.flow, from: f.from, to: f.to, route: f.route, bytes: f.bytes,
                        label: f.label, phase: f.phase, sent: f.sentAt, delivered: d.at,
                        dependsOn: f.cause.map { [$0] } ?? [])
                    if options.recordsLog { log.records[f.record] = delivered }
                    count(delivered)
                    let message = Message(flow: d.flow, from: f.from, to: f.to, bytes: f.bytes, payload: f.payload,
                                          label: f.label, phase: f.phase, sentAt: f.sentAt, deliveredAt: d.at)
                    eventsProcessed += 1
                    await hosts[f.to.rawValue].handleDelivery(message, record: f.record, at: d.at)
                }
            } else {
                guard let (t, event) = events.pop() else { break }
                now = t
                eventsProcessed += 1
                switch event {
                case .start(let h):
                    await hosts[h].handleStart(at: t)
                case .computeDone(let h, let token, let record):
                    await hosts[h].handleComputeDone(token, record: record, at: t)
                }
            }
        }

        if !aborted && !unfinished.isEmpty {
            var waiting: [ClusterError.Waiting] = []
            for h in unfinished.sorted() {
                let s = await hosts[h.rawValue].summary(failed: false)
                waiting.append(.init(host: h, waitingFor: "last event: \(s.lastEvent); last action: \(s.lastAction)"))
                _ = record { .mark(id: $0, host: h, at: now, label: "deadlock: never finished") }
            }
            errors.append(.deadlock(at: now, waiting: waiting))
        }
        if aborted {
            // Messages still in flight when the run stopped never arrived: say so instead of leaving a
            // transfer record with a made-up delivery time.
            for (flow, f) in inFlight.sorted(by: { $0.key < $1.key }) {
                let mark = RunLog.Record.mark(id: f.record, host: f.from, at: f.sentAt,
                                              label: "undelivered \(flow) '\(f.label)' to \(f.to)")
                if options.recordsLog { log.records[f.record] = mark }
                count(mark)
            }
        }

        var summaries: [HostSummary] = []
        for host in hosts {
            summaries.append(await host.summary(failed: topology.isFailed(host.id)))
        }
        let wall = Double(WallClock.nanoseconds() &- wallStart) / 1e9
        hosts = []  // break the host → scheduler → host reference cycle
        return RunReport(finish: now, log: log, counters: counters.counters(), hosts: summaries, errors: errors,
                         eventsProcessed: eventsProcessed, wallSeconds: wall)
    }

    /// Waits (on real uv timers) until the wall clock reaches the instant that corresponds to
    /// virtual `time` at `scale` simulated seconds per wall second.
    private func pace(until time: SimInstant, scale: Double, wallStart: UInt64) async {
        let target = wallStart &+ UInt64((Double(time.nanoseconds) / scale).rounded())
        while true {
            let wall = WallClock.nanoseconds()
            if wall >= target { return }
            let ms = (target - wall + 999_999) / 1_000_000
            do {
                try await executor.sleep(milliseconds: ms)
            } catch {
                preconditionFailure("\(error)")
            }
        }
    }
}
