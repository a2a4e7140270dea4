/// A run's records laid out for drawing on one time axis: a lane per host and per busy link, bars
/// for compute and for messages on each link of their route, an arrow per message from its sender
/// (when sent) to its receiver (when delivered), memory in use per host over time, and the critical
/// path marked. Pure: built from a ``RunLog``; the HTML report draws it.
///
/// **Folding.** A run with more records than can be drawn (a 1M-token projection has hundreds of
/// thousands) is folded so that the drawing stays small and fast: on each lane, consecutive bars of
/// the same phase that start within one `binWidth` of the group's first bar become one bar that
/// carries how many records it stands for and their bytes; messages between the same two hosts in the
/// same phase and bin become one arrow; memory keeps each bin's largest value. A run within the
/// budget is not folded: then there is exactly one bar per record on its lane and one arrow per
/// message. `folded` says which.
public struct TimelineLayout: Sendable, Hashable {
    /// One drawn bar: one record, or `count` consecutive records of one phase when folded.
    public struct Bar: Sendable, Hashable {
        public var start: SimInstant
        public var end: SimInstant
        public var phase: PhaseTag
        /// The record's label, or the first record's label and how many followed when folded.
        public var label: String
        /// Records this bar stands for (1 when not folded).
        public var count: Int
        /// Bytes of the messages it stands for (0 for compute).
        public var bytes: Int
        /// Busy time summed over the records (≤ `end − start`).
        public var busy: SimDuration
        /// A record on the critical path is among them.
        public var critical: Bool
    }

    /// One drawn message (or `count` messages between the same hosts when folded).
    public struct Arrow: Sendable, Hashable {
        public var from: HostID
        public var to: HostID
        public var sent: SimInstant
        public var delivered: SimInstant
        public var phase: PhaseTag
        public var label: String
        public var count: Int
        public var bytes: Int
        /// The links of the first message's route.
        public var route: [LinkID]
        public var critical: Bool
    }

    /// Memory in use on a host from `at` on, bytes.
    public struct MemoryPoint: Sendable, Hashable {
        public var at: SimInstant
        public var bytes: Int64
    }

    public enum LaneKind: String, Sendable, Hashable {
        case host, link
    }

    public struct Lane: Sendable, Hashable {
        public var kind: LaneKind
        /// `host0`, or `host0->host1` / `host0(intra)` for a link.
        public var name: String
        public var bars: [Bar]
    }

    /// Host lanes (every host, in id order), then link lanes (links that carried bytes, in id order).
    public var lanes: [Lane]
    public var arrows: [Arrow]
    /// Memory in use per host over time, `(instant, bytes)` in time order, indexed like `hosts`.
    public var memory: [[MemoryPoint]]
    /// The hosts, in id order.
    public var hosts: [RunLog.HostInfo]
    /// The end of the last record.
    public var finish: SimInstant
    /// Records on the critical path, and its summary line.
    public var criticalRecords: Int
    public var criticalSummary: String
    /// Bytes sent from host `i` to host `j` (`bytesBetween[i][j]`), over the whole run, never folded.
    public var bytesBetween: [[Int]]
    /// Messages in the run (never folded).
    public var messageCount: Int
    /// Whether bars and arrows were folded to stay within the budget (memory points fold on their own).
    public var folded: Bool
    /// The width of a fold bin (zero when not folded).
    public var binWidth: SimDuration

    /// The drawing budget: most bars over all lanes, most arrows, most memory points per host.
    public struct Budget: Sendable, Hashable {
        public var bars: Int
        public var arrows: Int
        public var memoryPoints: Int
        public init(bars: Int = 12_000, arrows: Int = 1_500, memoryPoints: Int = 400) {
            self.bars = bars
            self.arrows = arrows
            self.memoryPoints = memoryPoints
        }

        /// One run's share when a report draws `sections` runs: the whole report stays within about
        /// 24,000 bars and 9,000 arrows (a few MB), each run within the default budget, and no run
        /// below 800 bars and 300 arrows.
        public static func share(of sections: Int) -> Budget {
            let n = max(1, sections)
            return Budget(bars: min(12_000, max(800, 24_000 / n)), arrows: min(1_500, max(300, 9_000 / n)))
        }
    }

    /// Lays `log` out, folding when it exceeds `budget`.
    /// - Complexity: O(R log R) for R records.
    public init(log: RunLog, budget: Budget = Budget()) {
        let path = CriticalPath(log: log)
        let critical = Set(path.steps.map(\.recordID))
        criticalRecords = critical.count
        criticalSummary = String(path.summary.split(separator: "\n").first ?? "")
        let hosts = log.hosts.sorted { $0.id < $1.id }
        self.hosts = hosts
        let hostIndex = Dictionary(hosts.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        var finish = SimInstant.zero
        var hostRecords = Array(repeating: [Bar](), count: hosts.count)
        var linkRecords: [LinkID: [Bar]] = [:]
        var messages: [Arrow] = []
        var memory = Array(repeating: [MemoryPoint](), count: hosts.count)
        var between = Array(repeating: Array(repeating: 0, count: hosts.count), count: hosts.count)
        let sorted = log.records.sorted { ($0.startTime, $0.recordID) < ($1.startTime, $1.recordID) }
        for r in sorted {
            finish = max(finish, r.endTime)
            switch r {
            case .compute(let c):
                guard let h = hostIndex[c.host] else { continue }
                hostRecords[h].append(Bar(start: c.start, end: c.end, phase: c.phase, label: c.label, count: 1, bytes: 0,
                                          busy: c.end - c.start, critical: critical.contains(c.id)))
            case .transfer(let t):
                let isCritical = critical.contains(t.id)
                let bar = Bar(start: t.sent, end: t.delivered, phase: t.phase, label: t.label, count: 1, bytes: t.bytes,
                              busy: t.delivered - t.sent, critical: isCritical)
                for link in t.route { linkRecords[link, default: []].append(bar) }
                messages.append(Arrow(from: t.from, to: t.to, sent: t.sent, delivered: t.delivered, phase: t.phase,
                                      label: t.label, count: 1, bytes: t.bytes, route: t.route, critical: isCritical))
                if let i = hostIndex[t.from], let j = hostIndex[t.to] { between[i][j] += t.bytes }
            case .memory(let m):
                guard let h = hostIndex[m.host] else { continue }
                memory[h].append(MemoryPoint(at: m.at, bytes: m.bytesInUse))
            case .mark:
                break
            }
        }
        self.finish = finish
        bytesBetween = between
        messageCount = messages.count
        let links = linkRecords.keys.filter { linkRecords[$0]!.contains { $0.bytes > 0 } }.sorted()
        let barTotal = hostRecords.reduce(0) { $0 + $1.count } + links.reduce(0) { $0 + linkRecords[$1]!.count }
        let laneCount = max(1, hosts.count + links.count)
        folded = barTotal > budget.bars || messages.count > budget.arrows
        // Memory is a line per host: each bin keeps its largest value once a host has more points
        // than the budget (whether or not bars and arrows fold).
        let memoryWidth = max(1, (finish.nanoseconds + Int64(budget.memoryPoints) - 1) / Int64(max(1, budget.memoryPoints)))
        self.memory = memory.map { points in
            guard points.count > budget.memoryPoints else { return points }
            var out: [MemoryPoint] = []
            var lastBin: Int64 = -1
            for p in points {
                let bin = p.at.nanoseconds / memoryWidth
                if bin == lastBin, let last = out.last {
                    if p.bytes > last.bytes { out[out.count - 1].bytes = p.bytes }
                } else {
                    out.append(p)
                    lastBin = bin
                }
            }
            return out
        }
        // Host lanes in id order, then link lanes, each with its bars drawn by `draw`.
        func lanes(_ draw: ([Bar]) -> [Bar]) -> [Lane] {
            hosts.indices.map { Lane(kind: .host, name: hosts[$0].name, bars: draw(hostRecords[$0])) }
                + links.map { Lane(kind: .link, name: $0.description, bars: draw(linkRecords[$0]!)) }
        }
        guard folded else {
            binWidth = .zero
            self.lanes = lanes { $0 }
            arrows = messages
            return
        }
        // Bins: as many per lane as the bar budget allows (at least 50), over the run's length; the
        // width doubles until bars and arrows fit the budget.
        let bins = Int64(max(50, min(budget.bars / laneCount, budget.arrows)))
        var width = SimDuration(nanoseconds: max(1, (finish.nanoseconds + bins - 1) / bins))
        while true {
            let foldedLanes = lanes { Self.fold($0, width) }
            let foldedArrows = Self.fold(messages, width)
            let bars = foldedLanes.reduce(0) { $0 + $1.bars.count }
            if (bars <= budget.bars && foldedArrows.count <= budget.arrows) || width.nanoseconds >= max(1, finish.nanoseconds) {
                self.lanes = foldedLanes
                arrows = foldedArrows
                break
            }
            width = width * 2
        }
        binWidth = width
    }

    /// Consecutive bars of one phase starting within `width` of their group's first bar, as one bar.
    static func fold(_ bars: [Bar], _ width: SimDuration) -> [Bar] {
        guard var current = bars.first else { return [] }
        var out: [Bar] = []
        for b in bars.dropFirst() {
            if b.phase == current.phase, b.start.nanoseconds - current.start.nanoseconds < width.nanoseconds {
                current.end = max(current.end, b.end)
                current.count += b.count
                current.bytes += b.bytes
                current.busy = current.busy + b.busy
                current.critical = current.critical || b.critical
            } else {
                out.append(current)
                current = b
            }
        }
        out.append(current)
        for i in out.indices where out[i].count > 1 {
            out[i].label = "\(out[i].count) records from \(out[i].label)"
        }
        return out
    }

    /// Messages between the same hosts in one phase whose send instants fall in one bin of `width`,
    /// as one arrow (in the order of each group's first message).
    static func fold(_ messages: [Arrow], _ width: SimDuration) -> [Arrow] {
        struct Key: Hashable { var from: HostID; var to: HostID; var phase: PhaseTag; var bin: Int64 }
        var groups: [Key: Arrow] = [:]
        var order: [Key] = []
        for m in messages {
            let key = Key(from: m.from, to: m.to, phase: m.phase, bin: m.sent.nanoseconds / max(1, width.nanoseconds))
            if var g = groups[key] {
                g.delivered = max(g.delivered, m.delivered)
                g.count += 1
                g.bytes += m.bytes
                g.critical = g.critical || m.critical
                groups[key] = g
            } else {
                groups[key] = m
                order.append(key)
            }
        }
        return order.map { key in
            var a = groups[key]!
            if a.count > 1 { a.label = "\(a.count) messages from \(a.label)" }
            return a
        }
    }

    /// Bars over all lanes.
    public var barCount: Int { lanes.reduce(0) { $0 + $1.bars.count } }
}
