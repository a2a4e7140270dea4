import Foundation

/// Chrome trace-event JSON for a `RunLog`: opens in Perfetto (ui.perfetto.dev) and chrome://tracing.
///
/// Layout:
/// - one process (`pid` = host raw value) per host, named after the host;
/// - threads (tracks) per process: `compute` (plus `compute #2`, … when computes overlap), then one
///   track per outgoing link of the host (`→host3`, `intra-host`, plus `#2`, … lanes when transfers
///   overlap on that link, since complete events on one track must nest);
/// - `X` complete events: computes on the compute track; transfers on the track of the first link of
///   their route, from `sent` to `delivered`;
/// - flow arrows (`s`/`f` pairs with the transfer record's id, `"bp":"e"`): from the start of each
///   transfer slice to the slice that consumed it on the receiver (the first record on the receiving
///   host listing the transfer in `dependsOn`), or to the receiver's compute track at delivery if
///   nothing consumed it;
/// - `C` counter events `in flight <link>` (bytes of transfers whose route crosses the link, between
///   `sent` and `delivered`), and `memory` per host from memory records;
/// - `i` instant events for marks; `M` metadata naming and ordering processes and threads.
///
/// Timestamps are microseconds written exactly from integer nanoseconds (`1_234_567` ns → `1234.567`).
/// The JSON is written by hand with a fixed key order, so the same `RunLog` always gives
/// byte-identical output.
public enum TraceWriter {
    /// Marks a trace as StarSim's (in `otherData`, which trace viewers show as metadata), so that a
    /// later run may replace it and nothing else (`OutputDirectory`).
    public static let generatorMark = "\"generator\":\"starsim\""

    /// The trace as a JSON string (one event per line).
    public static func chromeTraceJSON(_ log: RunLog) -> String {
        var builder = Builder(log: log)
        return builder.build()
    }

    /// Writes `chromeTraceJSON(log)` to `path` (UTF-8).
    public static func write(_ log: RunLog, to path: String) throws {
        try chromeTraceJSON(log).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Exact microseconds from integer nanoseconds: integer part, `.`, three-digit remainder.
    public static func microseconds(_ ns: Int64) -> String {
        let sign = ns < 0 ? "-" : ""
        let magnitude = ns.magnitude
        let whole = magnitude / 1_000, frac = magnitude % 1_000
        let fracText = String(frac)
        return sign + String(whole) + "." + String(repeating: "0", count: 3 - fracText.count) + fracText
    }

    /// `s` as a JSON string literal (quotes included), escaping `"`, `\` and control characters.
    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Track key: a host's compute lane, or a link's lane.
    private enum TrackKey: Hashable, Comparable {
        case compute(host: HostID, lane: Int)
        case link(LinkID, lane: Int)
    }

    private struct Builder {
        let log: RunLog
        var lines: [String] = []
        /// Lane chosen for each compute / transfer record id.
        var laneOf: [Int: Int] = [:]
        /// Number of lanes per host (compute) and per link.
        var computeLanes: [HostID: Int] = [:]
        var linkLanes: [LinkID: Int] = [:]
        var tid: [TrackKey: Int] = [:]

        init(log: RunLog) { self.log = log }

        mutating func build() -> String {
            assignLanes()
            let hosts = allHosts()
            assignThreadIDs(hosts: hosts)
            metadata(hosts: hosts)
            slices()
            arrows()
            counters()
            return "{\"displayTimeUnit\":\"ns\",\"otherData\":{\(TraceWriter.generatorMark)},\"traceEvents\":[\n"
                + lines.joined(separator: ",\n") + "\n]}\n"
        }

        func allHosts() -> [HostID] {
            var set = Set(log.hosts.map(\.id))
            for r in log.records {
                switch r {
                case .compute(let step): set.insert(step.host)
                case .transfer(let message): set.insert(message.from); set.insert(message.to)
                case .memory(let usage): set.insert(usage.host)
                case .mark(let point): set.insert(point.host)
                }
            }
            return set.sorted()
        }

        func hostName(_ h: HostID) -> String { log.hosts.first { $0.id == h }?.name ?? h.description }

        /// Greedy interval partitioning in (start, id) order: lowest lane whose last slice has ended.
        mutating func assignLanes() {
            var computes: [HostID: [(SimInstant, SimInstant, Int)]] = [:]
            var transfers: [LinkID: [(SimInstant, SimInstant, Int)]] = [:]
            for r in log.records {
                switch r {
                case .compute(let step): computes[step.host, default: []].append((step.start, step.end, step.id))
                case .transfer(let message):
                    let first = message.route.first ?? LinkID(from: message.from, to: message.to)
                    transfers[first, default: []].append((message.sent, message.delivered, message.id))
                default: break
                }
            }
            func partition(_ items: [(SimInstant, SimInstant, Int)]) -> (lanes: [Int: Int], count: Int) {
                var laneEnds: [SimInstant] = []
                var lanes: [Int: Int] = [:]
                for (start, end, id) in items.sorted(by: { ($0.0, $0.2) < ($1.0, $1.2) }) {
                    if let free = laneEnds.firstIndex(where: { $0 <= start }) {
                        lanes[id] = free
                        laneEnds[free] = end
                    } else {
                        lanes[id] = laneEnds.count
                        laneEnds.append(end)
                    }
                }
                return (lanes, max(1, laneEnds.count))
            }
            for (host, items) in computes {
                let p = partition(items)
                laneOf.merge(p.lanes) { a, _ in a }
                computeLanes[host] = p.count
            }
            for (link, items) in transfers {
                let p = partition(items)
                laneOf.merge(p.lanes) { a, _ in a }
                linkLanes[link] = p.count
            }
            for l in log.links where linkLanes[l] == nil { linkLanes[l] = 1 }
        }

        mutating func assignThreadIDs(hosts: [HostID]) {
            for h in hosts {
                var next = 1
                for lane in 0..<(computeLanes[h] ?? 1) { tid[.compute(host: h, lane: lane)] = next; next += 1 }
                // Outgoing links: intra-host first, then by destination.
                let links = linkLanes.keys.filter { $0.from == h }.sorted { a, b in
                    (a.isIntraHost ? -1 : a.to.rawValue) < (b.isIntraHost ? -1 : b.to.rawValue)
                }
                for l in links {
                    for lane in 0..<linkLanes[l]! { tid[.link(l, lane: lane)] = next; next += 1 }
                }
            }
        }

        func trackName(_ key: TrackKey) -> String {
            switch key {
            case let .compute(_, lane): return lane == 0 ? "compute" : "compute #\(lane + 1)"
            case let .link(l, lane):
                let base = l.isIntraHost ? "intra-host" : "→\(hostName(l.to))"
                return lane == 0 ? base : "\(base) #\(lane + 1)"
            }
        }

        func pid(_ key: TrackKey) -> Int {
            switch key {
            case let .compute(host, _): host.rawValue
            case let .link(l, _): l.from.rawValue
            }
        }

        mutating func metadata(hosts: [HostID]) {
            for h in hosts {
                lines.append("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":\(h.rawValue),\"args\":{\"name\":\(jsonString(hostName(h)))}}")
                lines.append("{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":\(h.rawValue),\"args\":{\"sort_index\":\(h.rawValue)}}")
            }
            for (key, t) in tid.sorted(by: { (pid($0.key), $0.value) < (pid($1.key), $1.value) }) {
                lines.append("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":\(pid(key)),\"tid\":\(t),\"args\":{\"name\":\(jsonString(trackName(key)))}}")
                lines.append("{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":\(pid(key)),\"tid\":\(t),\"args\":{\"sort_index\":\(t)}}")
            }
        }

        func track(ofRecord r: RunLog.Record) -> TrackKey? {
            switch r {
            case .compute(let step): return .compute(host: step.host, lane: laneOf[step.id] ?? 0)
            case .transfer(let message):
                return .link(message.route.first ?? LinkID(from: message.from, to: message.to), lane: laneOf[message.id] ?? 0)
            default: return nil
            }
        }

        mutating func slices() {
            for r in log.records {
                switch r {
                case .compute(let step):
                    let key = track(ofRecord: r)!
                    lines.append("{\"name\":\(jsonString(step.label)),\"cat\":\"compute\",\"ph\":\"X\",\"ts\":\(microseconds(step.start.nanoseconds)),\"dur\":\(microseconds((step.end - step.start).nanoseconds)),\"pid\":\(pid(key)),\"tid\":\(tid[key]!),\"args\":{\"id\":\(step.id),\"phase\":\(jsonString(step.phase.name))}}")
                case .transfer(let message):
                    let key = track(ofRecord: r)!
                    lines.append("{\"name\":\(jsonString(message.label)),\"cat\":\"transfer\",\"ph\":\"X\",\"ts\":\(microseconds(message.sent.nanoseconds)),\"dur\":\(microseconds((message.delivered - message.sent).nanoseconds)),\"pid\":\(pid(key)),\"tid\":\(tid[key]!),\"args\":{\"id\":\(message.id),\"flow\":\(message.flow.rawValue),\"from\":\(jsonString(hostName(message.from))),\"to\":\(jsonString(hostName(message.to))),\"bytes\":\(message.bytes),\"phase\":\(jsonString(message.phase.name))}}")
                case .mark(let point):
                    let key = TrackKey.compute(host: point.host, lane: 0)
                    lines.append("{\"name\":\(jsonString(point.label)),\"cat\":\"mark\",\"ph\":\"i\",\"s\":\"t\",\"ts\":\(microseconds(point.at.nanoseconds)),\"pid\":\(point.host.rawValue),\"tid\":\(tid[key] ?? 1),\"args\":{\"id\":\(point.id)}}")
                case .memory:
                    break
                }
            }
        }

        mutating func arrows() {
            // First consumer on the receiving host of each transfer id.
            var consumer: [Int: RunLog.Record] = [:]
            var receiverOf: [Int: HostID] = [:]
            for r in log.records {
                if case .transfer(let message) = r { receiverOf[message.id] = message.to }
            }
            for r in log.records {
                let (host, deps): (HostID?, [Int]) = switch r {
                case .compute(let step): (step.host, step.dependsOn)
                case .transfer(let message): (message.from, message.dependsOn)
                default: (nil, [])
                }
                guard let host else { continue }
                for d in deps where receiverOf[d] == host && consumer[d] == nil { consumer[d] = r }
            }
            for r in log.records {
                guard case .transfer(let message) = r else { continue }
                let sendKey = track(ofRecord: r)!
                lines.append("{\"name\":\(jsonString(message.label)),\"cat\":\"message\",\"ph\":\"s\",\"id\":\(message.id),\"ts\":\(microseconds(message.sent.nanoseconds)),\"pid\":\(pid(sendKey)),\"tid\":\(tid[sendKey]!),\"bp\":\"e\"}")
                var endKey = TrackKey.compute(host: message.to, lane: 0)
                var endTime = message.delivered
                if let c = consumer[message.id], let key = track(ofRecord: c) {
                    endKey = key
                    switch c {
                    case .compute(let step): endTime = max(step.start, message.delivered)
                    case .transfer(let next): endTime = max(next.sent, message.delivered)
                    default: break
                    }
                }
                lines.append("{\"name\":\(jsonString(message.label)),\"cat\":\"message\",\"ph\":\"f\",\"id\":\(message.id),\"ts\":\(microseconds(endTime.nanoseconds)),\"pid\":\(pid(endKey)),\"tid\":\(tid[endKey] ?? 1),\"bp\":\"e\"}")
            }
        }

        mutating func counters() {
            // Bytes in flight per link: +bytes at sent, -bytes at delivered, coalesced per instant.
            var changes: [LinkID: [SimInstant: Int]] = [:]
            var memory: [HostID: [(SimInstant, Int, Int64)]] = [:]
            for r in log.records {
                switch r {
                case .transfer(let message):
                    for l in (message.route.isEmpty ? [LinkID(from: message.from, to: message.to)] : message.route) {
                        changes[l, default: [:]][message.sent, default: 0] += message.bytes
                        changes[l, default: [:]][message.delivered, default: 0] -= message.bytes
                    }
                case .memory(let usage):
                    memory[usage.host, default: []].append((usage.at, usage.id, usage.bytesInUse))
                default: break
                }
            }
            for link in changes.keys.sorted() {
                var level = 0
                for (t, delta) in changes[link]!.sorted(by: { $0.key < $1.key }) {
                    level += delta
                    lines.append("{\"name\":\(jsonString("in flight \(hostName(link.from))->\(link.isIntraHost ? "intra" : hostName(link.to))")),\"ph\":\"C\",\"ts\":\(microseconds(t.nanoseconds)),\"pid\":\(link.from.rawValue),\"args\":{\"bytes\":\(level)}}")
                }
            }
            for host in memory.keys.sorted() {
                for (t, _, inUse) in memory[host]!.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
                    lines.append("{\"name\":\"memory\",\"ph\":\"C\",\"ts\":\(microseconds(t.nanoseconds)),\"pid\":\(host.rawValue),\"args\":{\"bytes\":\(inUse)}}")
                }
            }
        }
    }
}
