import Foundation

/// Aggregate counters of a run, computed from its `RunLog`.
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
        public var sentByPhase: [String: Int] = [:]
        public var receivedByPhase: [String: Int] = [:]
        public var busy = SimDuration.zero
        public var idle = SimDuration.zero
        public var computeByPhase: [String: SimDuration] = [:]
        public var peakMemoryBytes: Int64 = 0
    }

    public struct LinkCounters: Sendable, Hashable {
        public var link: LinkID
        public var bytes = 0
        public var bytesByPhase: [String: Int] = [:]
        public var busy = SimDuration.zero
        /// busy / run length (0 for an empty run).
        public var utilisation = 0.0
    }

    public let runLength: SimDuration
    public let hosts: [HostCounters]
    public let links: [LinkCounters]
    /// Every phase seen, sorted.
    public let phases: [String]

    public init(log: RunLog, topology: Topology? = nil, runLength: SimDuration? = nil) {
        var end = SimInstant.zero
        for r in log.records { end = max(end, r.endTime) }
        let length = runLength ?? (end - .zero)
        self.runLength = length

        var hostMap: [HostID: HostCounters] = [:]
        for h in log.hosts { hostMap[h.id] = HostCounters(host: h.id) }
        var linkMap: [LinkID: LinkCounters] = [:]
        for l in log.links { linkMap[l] = LinkCounters(link: l) }
        var computeIntervals: [HostID: [(SimInstant, SimInstant)]] = [:]
        var linkIntervals: [LinkID: [(SimInstant, SimInstant)]] = [:]
        var phaseSet = Set<String>()

        for r in log.records {
            switch r {
            case .compute(let step):
                hostMap[step.host, default: HostCounters(host: step.host)].computeByPhase[step.phase, default: .zero] += step.end - step.start
                computeIntervals[step.host, default: []].append((step.start, step.end))
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
                    linkIntervals[l, default: []].append((begin, message.delivered))
                }
            case .memory(let usage):
                hostMap[usage.host, default: HostCounters(host: usage.host)].peakMemoryBytes =
                    max(hostMap[usage.host]?.peakMemoryBytes ?? 0, usage.bytesInUse)
            case .mark(let point):
                if hostMap[point.host] == nil { hostMap[point.host] = HostCounters(host: point.host) }
            }
        }
        for h in hostMap.keys {
            let busy = unionLength(computeIntervals[h] ?? [])
            hostMap[h]!.busy = busy
            hostMap[h]!.idle = max(.zero, length - busy)
        }
        for l in linkMap.keys {
            let busy = unionLength(linkIntervals[l] ?? [])
            linkMap[l]!.busy = busy
            linkMap[l]!.utilisation = length.nanoseconds > 0 ? Double(busy.nanoseconds) / Double(length.nanoseconds) : 0
        }
        hosts = hostMap.values.sorted { $0.host < $1.host }
        links = linkMap.values.sorted { $0.link < $1.link }
        phases = phaseSet.sorted()
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
