/// The chain of records that determined a run's finish time.
///
/// Algorithm: start at the compute or transfer record that ends last (ties: the larger record id);
/// repeatedly step to the record in its `dependsOn` that ended latest (ties: the larger id; only
/// compute and transfer records count), until a record has no such dependency. Between a dependency's
/// end and the next record's start the path is *waiting* (e.g. a compute queued behind another, or
/// time before the first record). So `compute + transfer + waiting == finish` exactly when each record
/// starts no earlier than its dependencies end (as the engine guarantees).
///
/// - Complexity: O(R) to index the records plus O(path length · max dependencies).
public struct CriticalPath: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case compute, transfer, waiting
    }

    /// One record on the path.
    public struct Step: Sendable, Hashable {
        public var recordID: Int
        /// `.compute` or `.transfer`.
        public var kind: Kind
        /// The computing host, or a transfer's sender.
        public var host: HostID
        public var label: String
        public var phase: PhaseTag
        public var start: SimInstant
        public var end: SimInstant
        /// Time between the previous step's end (or time zero) and this step's start.
        public var waitBefore: SimDuration
        /// A transfer's route (empty for compute).
        public var links: [LinkID] = []
        public var duration: SimDuration { end - start }
    }

    /// Steps in time order (earliest first); empty for a log without compute or transfer records.
    public let steps: [Step]
    /// End of the last step (zero when empty).
    public let finish: SimInstant
    public let computeTime: SimDuration
    public let transferTime: SimDuration
    public let waitingTime: SimDuration
    /// Compute + transfer time on the path per phase, sorted by phase name.
    public let byPhase: [PhaseTime]

    public struct PhaseTime: Sendable, Hashable {
        public var phase: PhaseTag
        public var compute: SimDuration
        public var transfer: SimDuration
    }

    public init(log: RunLog) {
        var byID: [Int: RunLog.Record] = [:]
        var last: RunLog.Record? = nil
        for r in log.records where r.hasDuration {
            byID[r.recordID] = r
            if let l = last {
                if (r.endTime, r.recordID) > (l.endTime, l.recordID) { last = r }
            } else {
                last = r
            }
        }
        var chain: [RunLog.Record] = []
        var visited = Set<Int>()
        var current = last
        while let c = current, !visited.contains(c.recordID) {
            visited.insert(c.recordID)
            chain.append(c)
            current = c.dependencies.compactMap { byID[$0] }
                .max { ($0.endTime, $0.recordID) < ($1.endTime, $1.recordID) }
        }
        chain.reverse()
        var steps: [Step] = []
        var previousEnd = SimInstant.zero
        var compute = SimDuration.zero, transfer = SimDuration.zero, waiting = SimDuration.zero
        var phases: [PhaseTag: (SimDuration, SimDuration)] = [:]
        for r in chain {
            let kind: Kind
            if case .compute = r { kind = .compute } else { kind = .transfer }
            let wait = max(.zero, r.startTime - previousEnd)
            var step = Step(recordID: r.recordID, kind: kind, host: r.actingHost, label: r.label, phase: r.phase,
                            start: r.startTime, end: r.endTime, waitBefore: wait)
            if case .transfer(let t) = r { step.links = t.route }
            steps.append(step)
            waiting = waiting + wait
            var p = phases[r.phase] ?? (.zero, .zero)
            if kind == .compute { compute = compute + step.duration; p.0 = p.0 + step.duration }
            else { transfer = transfer + step.duration; p.1 = p.1 + step.duration }
            phases[r.phase] = p
            previousEnd = r.endTime
        }
        self.steps = steps
        finish = steps.last?.end ?? .zero
        computeTime = compute
        transferTime = transfer
        waitingTime = waiting
        byPhase = phases.keys.sorted().map { PhaseTime(phase: $0, compute: phases[$0]!.0, transfer: phases[$0]!.1) }
    }

    /// Time on the path of one kind.
    public func time(_ kind: Kind) -> SimDuration {
        switch kind {
        case .compute: computeTime
        case .transfer: transferTime
        case .waiting: waitingTime
        }
    }

    /// The host (compute) or link (transfers crossing it) with the most time on the path, or nil for
    /// an empty path. Ties: hosts before links, then the smaller id.
    public var heaviestResource: (name: String, time: SimDuration)? {
        var hosts: [HostID: SimDuration] = [:]
        var links: [LinkID: SimDuration] = [:]
        for s in steps {
            if s.kind == .compute { hosts[s.host, default: .zero] += s.duration }
            for l in s.links { links[l, default: .zero] += s.duration }
        }
        let h = hosts.max { ($0.value, $1.key) < ($1.value, $0.key) }
        let l = links.max { ($0.value, $1.key) < ($1.value, $0.key) }
        switch (h, l) {
        case (nil, nil): return nil
        case (let h?, nil): return (h.key.description, h.value)
        case (nil, let l?): return (l.key.description, l.value)
        case (let h?, let l?): return l.value > h.value ? (l.key.description, l.value) : (h.key.description, h.value)
        }
    }

    /// A short multi-line description: totals, then one line per step.
    public var summary: String {
        var lines = ["critical path: \(finish) = compute \(computeTime) + transfer \(transferTime) + waiting \(waitingTime)"]
        for p in byPhase {
            lines.append("  phase \(p.phase.isNone ? "(none)" : p.phase.name): compute \(p.compute), transfer \(p.transfer)")
        }
        for s in steps {
            let wait = s.waitBefore > .zero ? " (after waiting \(s.waitBefore))" : ""
            lines.append("  \(TextTimeline.milliseconds(s.start.nanoseconds)) \(s.host) \(s.kind.rawValue) \(s.label) \(s.duration)\(wait)")
        }
        return lines.joined(separator: "\n")
    }
}
