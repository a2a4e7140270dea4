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
        /// `epoch`: the host's epoch when the step started; a step of a lost host's earlier life is dropped.
        case computeDone(host: Int, token: ComputeToken, record: Int, epoch: Int)
        /// Some link's fault state changes now (`FaultPlan.linkChangeInstants`).
        case linkChange
        /// `faults.hostLosses[index]` happens now.
        case hostLoss(index: Int)
        /// The spare of `host` starts (if the host's epoch is still `epoch`).
        case restart(host: Int, epoch: Int)
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

    // Faults (`SimulationOptions.faults`, `Docs/Faults.md`).
    private let respawn: LoopBound<(HostID) -> any HostShell<Payload>>?
    /// Bumped when a host is lost; events of an earlier life are dropped.
    private var epochs: [Int]
    /// The compute step running on each host (recorded at its start, counted at its end or loss).
    private var runningCompute: [Int: RunLog.Record] = [:]
    /// Hosts lost and waiting for their spare; messages delivered to them meanwhile are held.
    private var down: Set<Int> = []
    private var held: [Int: [(message: Message<Payload>, record: Int)]] = [:]
    /// Whether a message each host sent in its current life has reached a live host (its state then
    /// lives on in others, and losing it restarts everyone).
    private var leaked: [Bool]
    /// Messages delivered to each host in its current life, kept while it has not leaked: a spare
    /// that replaces it alone gets them again from their senders.
    private var inputs: [[Replay]]
    /// Messages to send again to a spare when it starts.
    private var replays: [Int: [Replay]] = [:]
    struct Replay {
        var from: HostID
        var bytes: Int
        var payload: Payload
        var label: String
        var phase: PhaseTag
    }
    /// Bandwidth factor and extra latency applied to each link so far (only links that changed).
    private var appliedLinkState: [LinkID: (factor: Double, extra: SimDuration)] = [:]
    private var faultLog = FaultOutcome()
    private var deliveredBytes = 0
    private var deliveredAtLastRestart = 0
    /// Busy time of each host's current life (what a loss throws away).
    private var lifeBusy: [SimDuration]

    /// `InputLimits.simulatedTimeHorizonSeconds` in nanoseconds.
    static var horizonNanoseconds: Int64 { Int64(InputLimits.simulatedTimeHorizonSeconds * 1e9) }

    init(topology: Topology, options: SimulationOptions, executor: LoopExecutor,
         respawn: LoopBound<(HostID) -> any HostShell<Payload>>? = nil) {
        self.topology = topology
        self.options = options
        self.executor = executor
        self.respawn = respawn
        self.epochs = Array(repeating: 0, count: topology.hostCount)
        self.leaked = Array(repeating: false, count: topology.hostCount)
        self.inputs = Array(repeating: [], count: topology.hostCount)
        self.lifeBusy = Array(repeating: .zero, count: topology.hostCount)
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
        // A transfer is counted when it is delivered, a compute step when it ends or is cut short by
        // a lost host (their records are completed then).
        switch r {
        case .transfer, .compute: break
        default: count(r)
        }
        return id
    }

    /// Records a compute step of `host` over `[start, end]` and schedules its end; returns its record id.
    func startCompute(host: HostID, token: ComputeToken, label: String, phase: PhaseTag, start: SimInstant,
                      end: SimInstant, dependsOn deps: [Int]) -> Int {
        var step: RunLog.Record?
        let r = record {
            step = .compute(id: $0, host: host, label: label, phase: phase, start: start, end: end, dependsOn: deps)
            return step!
        }
        runningCompute[host.rawValue] = step!
        schedule(.computeDone(host: host.rawValue, token: token, record: r, epoch: epochs[host.rawValue]), at: end)
        return r
    }

    /// When a step of full-speed duration `cost` starting at `start` on `host` ends (stragglers).
    func computeEnd(host: HostID, start: SimInstant, cost: SimDuration) -> SimInstant {
        options.faults.stragglers.isEmpty ? start + cost : options.faults.computeEnd(host: host, start: start, cost: cost)
    }

    /// Feeds a finished record to the run's counters; every 64K records, folds busy intervals that
    /// can no longer grow (memory stays flat however long the run).
    private func count(_ r: RunLog.Record) {
        counters.add(r)
        countedSinceCompaction += 1
        if countedSinceCompaction >= 65_536 {
            countedSinceCompaction = 0
            let oldestInFlight = inFlight.values.lazy.map(\.sentAt).min() ?? now
            let oldestRunning = runningCompute.values.lazy.map(\.startTime).min() ?? now
            counters.compact(computeWatermark: min(now, oldestRunning), linkWatermark: min(now, oldestInFlight))
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
        let choice: (rerouted: Bool, waits: Bool)
        do {
            choice = try network.start(flow, from: from, to: to, bytes: bytes, at: time, phase: phase)
        } catch {
            fail(error, host: from, at: time, mark: "message '\(label)' rejected by the network")
            return
        }
        let route = network.route(of: flow) ?? []
        if choice.rerouted || choice.waits {
            let path = route.map(\.description).joined(separator: ", ")
            if choice.rerouted { faultLog.reroutedMessages += 1 } else { faultLog.waitingMessages += 1 }
            _ = record {
                .mark(id: $0, host: from, at: time, label: choice.rerouted
                      ? "message '\(label)' to \(to) re-routed around a failed link: \(path)"
                      : "message '\(label)' to \(to) waits: every path crosses a failed link (\(path))")
            }
        }
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
        // Fault events go first, so that a fault at t = 0 is in force when the hosts start.
        for t in options.faults.linkChangeInstants { events.push(.linkChange, at: t) }
        for (i, loss) in options.faults.hostLosses.enumerated() { events.push(.hostLoss(index: i), at: loss.at) }
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
                    deliveredBytes += f.bytes
                    let delivered = RunLog.Record.transfer(
                        id: f.record, flow: d.flow, from: f.from, to: f.to, route: f.route, bytes: f.bytes,
                        label: f.label, phase: f.phase, sent: f.sentAt, delivered: d.at,
                        dependsOn: f.cause.map { [$0] } ?? [])
                    if options.recordsLog { log.records[f.record] = delivered }
                    count(delivered)
                    let message = Message(flow: d.flow, from: f.from, to: f.to, bytes: f.bytes, payload: f.payload,
                                          label: f.label, phase: f.phase, sentAt: f.sentAt, deliveredAt: d.at)
                    eventsProcessed += 1
                    if down.contains(f.to.rawValue) {
                        held[f.to.rawValue, default: []].append((message, f.record))  // for the spare
                    } else {
                        noteDelivery(message)
                        await hosts[f.to.rawValue].handleDelivery(message, record: f.record, at: d.at)
                    }
                }
            } else {
                guard let (t, event) = events.pop() else { break }
                // Every host is done and nothing is in flight: the run is over; faults due later neither
                // happen nor move its end (those that would have started are reported below).
                if unfinished.isEmpty && inFlight.isEmpty && down.isEmpty {
                    if case .linkChange = event { continue }
                    if case .hostLoss = event { continue }
                }
                now = t
                eventsProcessed += 1
                switch event {
                case .start(let h):
                    if down.contains(h) { break }  // lost before it started: its spare starts it
                    await hosts[h].handleStart(at: t)
                case .computeDone(let h, let token, let record, let epoch):
                    guard epoch == epochs[h] else { break }  // a step of a lost life
                    if let step = runningCompute.removeValue(forKey: h) {
                        count(step)
                        lifeBusy[h] = lifeBusy[h] + (step.endTime - step.startTime)
                    }
                    await hosts[h].handleComputeDone(token, record: record, at: t)
                case .linkChange:
                    applyLinkFaults(at: t)
                case .hostLoss(let index):
                    await loseHost(index, at: t)
                case .restart(let h, let epoch):
                    guard epoch == epochs[h], down.contains(h) else { break }
                    down.remove(h)
                    _ = record { .mark(id: $0, host: HostID(h), at: t, label: "spare starts as \(HostID(h))") }
                    await hosts[h].handleStart(at: t)
                    for r in replays.removeValue(forKey: h) ?? [] where !aborted {
                        startFlow(from: r.from, to: HostID(h), bytes: r.bytes, payload: r.payload, label: r.label,
                                  phase: r.phase, at: t, cause: nil)
                    }
                    for (message, record) in held.removeValue(forKey: h) ?? [] where !aborted {
                        noteDelivery(message)
                        await hosts[h].handleDelivery(message, record: record, at: t)
                    }
                }
            }
        }
        if !aborted { checkFaultsHappened() }

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
            // Steps still running when the run stopped are counted as they were planned.
            for h in runningCompute.keys.sorted() { count(runningCompute[h]!) }
            runningCompute = [:]
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
                         eventsProcessed: eventsProcessed, wallSeconds: wall, faults: faultLog)
    }

    // MARK: Faults


    /// Brings every link to its `FaultPlan` state at `t` (a mark per link that changed).
    private func applyLinkFaults(at t: SimInstant) {
        for link in topology.links {
            let state = options.faults.linkState(link, at: t)
            let before = appliedLinkState[link] ?? (1, .zero)
            if before.factor == state.factor && before.extra == state.extraLatency { continue }
            do {
                try network.setLinkState(link, factor: state.factor, extraLatency: state.extraLatency, at: t)
            } catch {
                fail(error, host: link.from, at: t, mark: "link \(link) could not change state")
                return
            }
            appliedLinkState[link] = (state.factor, state.extraLatency)
            let what: String
            if state.down {
                what = "down"
            } else if state.factor == 1 && state.extraLatency == .zero {
                what = "back to full bandwidth"
            } else {
                let pct = (state.factor * 100).formatted(.number.precision(.significantDigits(1...3)))
                what = "at \(pct)% bandwidth" + (state.extraLatency > .zero ? ", +\(state.extraLatency) latency" : "")
            }
            faultLog.linkChanges.append(.init(at: t, link: link, bandwidthFactor: state.factor,
                                               extraLatency: state.extraLatency))
            _ = record { .mark(id: $0, host: link.from, at: t, label: "link \(link) \(what)") }
        }
        networkNext = network.nextEventTime()
    }

    /// Bookkeeping for the recovery rule when `message` reaches a live host.
    private func noteDelivery(_ message: Message<Payload>) {
        guard !options.faults.hostLosses.isEmpty else { return }
        let from = message.from.rawValue, to = message.to.rawValue
        if from != to {
            leaked[from] = true
            inputs[from] = []
        }
        if !leaked[to] && from != to {  // a host's messages to itself, its spare sends again itself
            inputs[to].append(Replay(from: message.from, bytes: message.bytes, payload: message.payload,
                                     label: message.label, phase: message.phase))
        }
    }

    /// Loses `faults.hostLosses[index]`'s host at `t` and starts its recovery (`FaultPlan.HostLoss`).
    private func loseHost(_ index: Int, at t: SimInstant) async {
        let loss = options.faults.hostLosses[index]
        let h = loss.host.rawValue
        guard let respawn else {
            errors.append(.invalidFault(field: loss.field, reason: "this run has no program to restart a lost host with"))
            aborted = true
            return
        }
        let alone = !leaked[h]
        let victims = alone ? [h] : topology.hosts.map(\.rawValue).filter { !topology.isFailed(HostID($0)) }
        let spareAt = t + options.faults.recoveryDelay
        _ = record {
            .mark(id: $0, host: loss.host, at: t, label: alone
                  ? "lost (\(loss.field)); nothing it sent has arrived: a spare redoes its work from \(spareAt)"
                  : "lost (\(loss.field)); its state was shared: every host restarts from \(spareAt)")
        }
        var resent = 0
        if alone {
            // Its messages still in flight die with it (the spare sends them again); what it had
            // received is sent to the spare again when it starts.
            for (flow, f) in inFlight.sorted(by: { $0.key < $1.key }) where f.from.rawValue == h {
                network.cancel(flow)
                inFlight[flow] = nil
                let mark = RunLog.Record.mark(id: f.record, host: f.from, at: f.sentAt,
                                              label: "lost in flight \(flow) '\(f.label)' to \(f.to)")
                if options.recordsLog { log.records[f.record] = mark }
                count(mark)
            }
            networkNext = network.nextEventTime()
            // So do its messages held for other hosts' spares (sent to a host that was down).
            for (other, queue) in held where queue.contains(where: { $0.message.from.rawValue == h }) {
                held[other] = queue.filter { $0.message.from.rawValue != h }
            }
            // Lost again before its spare started: the inputs still owed to it stay owed.
            replays[h, default: []] += inputs[h]
            resent = inputs[h].reduce(0) { $0 + $1.bytes }
        } else {
            // Every message in flight is lost; every byte delivered in this life will be sent again.
            for (flow, f) in inFlight.sorted(by: { $0.key < $1.key }) {
                network.cancel(flow)
                let mark = RunLog.Record.mark(id: f.record, host: f.from, at: f.sentAt,
                                              label: "lost in flight \(flow) '\(f.label)' to \(f.to)")
                if options.recordsLog { log.records[f.record] = mark }
                count(mark)
            }
            inFlight = [:]
            networkNext = network.nextEventTime()
            held = [:]
            replays = [:]
            resent = deliveredBytes - deliveredAtLastRestart
            deliveredAtLastRestart = deliveredBytes
        }
        var workLost = SimDuration.zero
        for v in victims {
            epochs[v] += 1
            workLost = workLost + lifeBusy[v]
            lifeBusy[v] = .zero
            if let step = runningCompute.removeValue(forKey: v), case .compute(let c) = step {
                let cut = RunLog.Record.compute(id: c.id, host: c.host, label: c.label + " (lost)", phase: c.phase,
                                                start: c.start, end: max(c.start, t), dependsOn: c.dependsOn)
                if options.recordsLog { log.records[c.id] = cut }
                count(cut)
                workLost = workLost + (max(c.start, t) - c.start)
            }
            await hosts[v].reset(at: t, shell: LoopBound(value: respawn.value(HostID(v))))
            down.insert(v)
            unfinished.insert(HostID(v))
            leaked[v] = false
            inputs[v] = []
            schedule(.restart(host: v, epoch: epochs[v]), at: spareAt)
        }
        faultLog.recoveries.append(.init(host: loss.host, field: loss.field, lostAt: t, spareStartsAt: spareAt,
                                         restartedHosts: victims.map(HostID.init), bytesResent: resent,
                                         workLost: workLost))
    }

    /// After a completed run: the faults that would only have started after its end did not happen
    /// (`FaultOutcome.notHappened`; the front ends refuse a fault that happens in none of their runs).
    private func checkFaultsHappened() {
        let end = now
        var late: [(String, SimInstant)] = []
        for f in options.faults.links where f.window.from >= end && end > .zero { late.append(("\(f.field).from_seconds", f.window.from)) }
        for f in options.faults.stragglers where f.window.from >= end && end > .zero { late.append(("\(f.field).from_seconds", f.window.from)) }
        for f in options.faults.hostLosses where f.at >= end { late.append(("\(f.field).at_seconds", f.at)) }
        faultLog.notHappened = late.map { .init(field: $0.0, at: $0.1, runEnded: end) }
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
