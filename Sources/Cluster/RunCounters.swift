import Foundation

/// Aggregate counters of a run: streamed by the scheduler as records finish (`RunReport.counters`,
/// with or without a kept log), or computed from a `RunLog`.
///
/// - Run length: the latest end over all records (or an explicit `runLength`).
/// - Per host: bytes sent / received (total and per phase; an intra-host transfer counts as both sent
///   and received by its host), busy time = length of the union of its compute intervals, idle =
///   run length − busy, compute time per phase (sum of durations), peak memory in use.
/// - Per link (every link in `log.links` or on a transfer's route): bytes carried (each transfer counts
///   fully on every link of its route; total and per phase), busy time = union of the transfer
///   intervals crossing it, utilisation = busy / run length. With a `topology`, a transfer's interval
///   on its links is `[sent + route latency, delivered]` (the bandwidth phase of `FlowNetwork`);
///   without one, `[sent, delivered]`.
///
/// Lists are sorted by host / link id, phase maps are plain dictionaries (use `phases` for order).
public struct RunCounters: Sendable, Hashable {
    public struct HostCounters: Sendable, Hashable {
        public var host: HostID
        public var bytesSent = 0
        public var bytesReceived = 0
        public var sentByPhase: [PhaseTag: Int] = [:]
        public var receivedByPhase: [PhaseTag: Int] = [:]
        public var busy = SimDuration.zero
        public var idle = SimDuration.zero
        public var computeByPhase: [PhaseTag: SimDuration] = [:]
        public var peakMemoryBytes: Int64 = 0
    }

    public struct LinkCounters: Sendable, Hashable {
        public var link: LinkID
        public var bytes = 0
        public var bytesByPhase: [PhaseTag: Int] = [:]
        public var busy = SimDuration.zero
        /// busy / run length (0 for an empty run).
        public var utilisation = 0.0
    }

    public let runLength: SimDuration
    public let hosts: [HostCounters]
    public let links: [LinkCounters]
    /// Every phase seen, sorted.
    public let phases: [PhaseTag]

    /// Counters of a whole log (the same arithmetic as the scheduler's streaming ``Accumulator``).
    public init(log: RunLog, topology: Topology? = nil, runLength: SimDuration? = nil) {
        var accumulator = Accumulator(hosts: log.hosts.map(\.id), links: log.links, topology: topology)
        for r in log.records { accumulator.add(r) }
        self = accumulator.counters(runLength: runLength)
    }

    init(runLength: SimDuration, hosts: [HostCounters], links: [LinkCounters], phases: [PhaseTag]) {
        self.runLength = runLength
        self.hosts = hosts
        self.links = links
        self.phases = phases
    }

    /// Builds ``RunCounters`` one record at a time, in memory that does not grow with the run: busy
    /// intervals are merged and, once ``compact(before:)`` says no later interval can start before a
    /// watermark, folded into a total. The scheduler feeds every finished record to one of these (a
    /// transfer when it is delivered), so a run's counters exist whether or not its log is kept.
    public struct Accumulator: Sendable {
        private let topology: Topology?
        private var end = SimInstant.zero
        private var hostMap: [HostID: HostCounters] = [:]
        private var linkMap: [LinkID: LinkCounters] = [:]
        private var computeBusy: [HostID: IntervalUnion] = [:]
        private var linkBusy: [LinkID: IntervalUnion] = [:]
        private var phaseSet = Set<PhaseTag>()

        public init(hosts: [HostID], links: [LinkID], topology: Topology? = nil) {
            self.topology = topology
            for h in hosts { hostMap[h] = HostCounters(host: h) }
            for l in links { linkMap[l] = LinkCounters(link: l) }
        }

        public mutating func add(_ r: RunLog.Record) {
            end = max(end, r.endTime)
            switch r {
            case .compute(let step):
                hostMap[step.host, default: HostCounters(host: step.host)].computeByPhase[step.phase, default: .zero] += step.end - step.start
                computeBusy[step.host, default: IntervalUnion()].add(step.start, step.end)
                phaseSet.insert(step.phase)
            case .transfer(let message):
                phaseSet.insert(message.phase)
                hostMap[message.from, default: HostCounters(host: message.from)].bytesSent += message.bytes
                hostMap[message.from]!.sentByPhase[message.phase, default: 0] += message.bytes
                hostMap[message.to, default: HostCounters(host: message.to)].bytesReceived += message.bytes
                hostMap[message.to]!.receivedByPhase[message.phase, default: 0] += message.bytes
                let begin = topology.map { min(message.delivered, message.sent + $0.latency(of: message.route)) } ?? message.sent
                for l in (message.route.isEmpty ? [LinkID(from: message.from, to: message.to)] : message.route) {
                    linkMap[l, default: LinkCounters(link: l)].bytes += message.bytes
                    linkMap[l]!.bytesByPhase[message.phase, default: 0] += message.bytes
                    linkBusy[l, default: IntervalUnion()].add(begin, message.delivered)
                }
            case .memory(let usage):
                hostMap[usage.host, default: HostCounters(host: usage.host)].peakMemoryBytes =
                    max(hostMap[usage.host]?.peakMemoryBytes ?? 0, usage.bytesInUse)
            case .mark(let point):
                if hostMap[point.host] == nil { hostMap[point.host] = HostCounters(host: point.host) }
            }
        }

        /// Folds busy intervals that end before the watermarks into totals: no compute added later
        /// starts before `computeWatermark`, no transfer added later starts before `linkWatermark`.
        public mutating func compact(computeWatermark: SimInstant, linkWatermark: SimInstant) {
            for h in computeBusy.keys { computeBusy[h]!.compact(before: computeWatermark) }
            for l in linkBusy.keys { linkBusy[l]!.compact(before: linkWatermark) }
        }

        /// The counters so far; `runLength` defaults to the latest end of any record.
        public func counters(runLength: SimDuration? = nil) -> RunCounters {
            let length = runLength ?? (end - .zero)
            var hosts = hostMap
            var links = linkMap
            for h in hosts.keys {
                let busy = computeBusy[h]?.length ?? .zero
                hosts[h]!.busy = busy
                hosts[h]!.idle = max(.zero, length - busy)
            }
            for l in links.keys {
                let busy = linkBusy[l]?.length ?? .zero
                links[l]!.busy = busy
                links[l]!.utilisation = length.nanoseconds > 0 ? Double(busy.nanoseconds) / Double(length.nanoseconds) : 0
            }
            return RunCounters(
                runLength: length, hosts: hosts.values.sorted { $0.host < $1.host },
                links: links.values.sorted { $0.link < $1.link }, phases: phaseSet.sorted())
        }
    }

    public func host(_ id: HostID) -> HostCounters? { hosts.first { $0.host == id } }
    public func link(_ id: LinkID) -> LinkCounters? { links.first { $0.link == id } }

    /// A plain-text table: one line per host, then per link with traffic.
    public var summary: String {
        var lines = ["run length \(runLength)"]
        for h in hosts {
            let busyPct = runLength.nanoseconds > 0 ? 100 * Double(h.busy.nanoseconds) / Double(runLength.nanoseconds) : 0
            lines.append("  \(h.host)  busy \(h.busy) (\(percent(busyPct)))  idle \(h.idle)  sent \(formatBytes(h.bytesSent))  "
                         + "received \(formatBytes(h.bytesReceived))  peak memory \(formatBytes(Int(h.peakMemoryBytes)))")
        }
        for l in links where l.bytes > 0 {
            lines.append("  \(l.link)  \(formatBytes(l.bytes))  busy \(l.busy)  utilisation \(percent(100 * l.utilisation))")
        }
        return lines.joined(separator: "\n")
    }

    private func percent(_ x: Double) -> String { String(format: "%.1f%%", x) }
}
