/// Collective operations as plans of point-to-point messages, with closed-form times and a reference
/// simulation on `FlowNetwork`.
///
/// A `Plan` is a list of steps; each step a list of sends. Dependency rule: a host's sends in step
/// `k+1` start when that host has received all of its step-`k` messages (at the latest delivery); a
/// host that receives nothing in step `k` starts its step-`k+1` sends when it was ready for step `k`.
/// Step 0 starts at the plan's start instant.
///
/// Closed forms assume a lone run on a uniform topology whose inter-host links all have `link`'s
/// profile, and write `T(b) = latency + ceil(b · 1e9 / bandwidth)` ns for one lone message:
///
/// | plan | fully connected | why |
/// |---|---|---|
/// | flat broadcast of `b` bytes | `T(b)` | root sends H−1 copies at once, each on its own link root→j |
/// | gather of `c`-byte chunks | `T(c)` | each sender has its own link j→root: the senders do **not** share a link |
/// | ring all-gather | `(H−1) · T(c)` | H−1 steps; in each, host i sends to i+1 over a distinct link |
/// | direct all-gather | `T(c)` | H·(H−1) messages on H·(H−1) distinct links |
///
/// (On a `.ring` topology the ring all-gather has the same time; the others share links and have no
/// closed form here — use `simulate`.) Real NICs share one port among all of a host's peers; this model
/// gives each ordered pair its own link, as the topology says.
public enum Collectives {
    /// One point-to-point message of a plan.
    public struct Send: Sendable, Hashable, CustomStringConvertible {
        public var from: HostID
        public var to: HostID
        public var bytes: Int
        public init(from: HostID, to: HostID, bytes: Int) { self.from = from; self.to = to; self.bytes = bytes }
        public var description: String { "\(from)->\(to) \(bytes)B" }
    }

    /// A collective as steps of sends (see the dependency rule in `Collectives`).
    public struct Plan: Sendable, Hashable {
        public var name: String
        public var steps: [[Send]]
        public init(name: String, steps: [[Send]]) { self.name = name; self.steps = steps }
        /// Total bytes over all sends.
        public var totalBytes: Int { steps.joined().reduce(0) { $0 + $1.bytes } }
    }

    // MARK: Plans

    /// Flat broadcast: `root` sends `bytes` to every other host in one step.
    public static func broadcast(root: HostID, hosts: Int, bytes: Int) -> Plan {
        let sends = (0..<hosts).filter { $0 != root.rawValue }.map { Send(from: root, to: HostID($0), bytes: bytes) }
        return Plan(name: "broadcast", steps: sends.isEmpty ? [] : [sends])
    }

    /// Gather: every other host sends its `chunkBytes` chunk to `root` in one step.
    public static func gather(root: HostID, hosts: Int, chunkBytes: Int) -> Plan {
        let sends = (0..<hosts).filter { $0 != root.rawValue }.map { Send(from: HostID($0), to: root, bytes: chunkBytes) }
        return Plan(name: "gather", steps: sends.isEmpty ? [] : [sends])
    }

    /// Ring all-gather: H−1 steps; in step k host i sends chunk (i−k) mod H (its latest) to (i+1) mod H.
    public static func ringAllGather(hosts: Int, chunkBytes: Int) -> Plan {
        guard hosts > 1 else { return Plan(name: "ring all-gather", steps: []) }
        let step = (0..<hosts).map { Send(from: HostID($0), to: HostID(($0 + 1) % hosts), bytes: chunkBytes) }
        return Plan(name: "ring all-gather", steps: Array(repeating: step, count: hosts - 1))
    }

    /// Direct all-gather: every host sends its chunk to every other host in one step.
    public static func directAllGather(hosts: Int, chunkBytes: Int) -> Plan {
        var sends: [Send] = []
        for i in 0..<hosts { for j in 0..<hosts where i != j { sends.append(Send(from: HostID(i), to: HostID(j), bytes: chunkBytes)) } }
        return Plan(name: "direct all-gather", steps: sends.isEmpty ? [] : [sends])
    }

    // MARK: Closed forms (lone run, uniform fully-connected topology)

    /// `latency + ceil(bytes · 1e9 / bandwidth)` ns: one message alone on one link (what `FlowNetwork` gives).
    public static func loneMessageTime(bytes: Int, link: LinkProfile) -> SimDuration {
        let ns = Double(bytes) / link.bandwidthBytesPerSecond * 1e9
        let nearest = ns.rounded()
        let whole = abs(ns - nearest) <= 1e-9 * max(1, ns) ? nearest : ns.rounded(.up)
        return link.latency + SimDuration(saturatingNanoseconds: whole)
    }

    public static func broadcastTime(hosts: Int, bytes: Int, link: LinkProfile) -> SimDuration {
        hosts > 1 ? loneMessageTime(bytes: bytes, link: link) : .zero
    }

    /// The H−1 senders use distinct links into the root, so this equals one lone message.
    public static func gatherTime(hosts: Int, chunkBytes: Int, link: LinkProfile) -> SimDuration {
        hosts > 1 ? loneMessageTime(bytes: chunkBytes, link: link) : .zero
    }

    public static func ringAllGatherTime(hosts: Int, chunkBytes: Int, link: LinkProfile) -> SimDuration {
        hosts > 1 ? loneMessageTime(bytes: chunkBytes, link: link) * Int64(hosts - 1) : .zero
    }

    public static func directAllGatherTime(hosts: Int, chunkBytes: Int, link: LinkProfile) -> SimDuration {
        hosts > 1 ? loneMessageTime(bytes: chunkBytes, link: link) : .zero
    }

    // MARK: Reference simulation

    /// When each message of a simulated plan was sent and delivered.
    public struct Timing: Sendable, Hashable {
        public var step: Int
        /// Position of the send within its step.
        public var index: Int
        public var send: Send
        public var flow: FlowID
        public var sent: SimInstant
        public var delivered: SimInstant
    }

    /// Runs `plan` alone on `topology` with the dependency rule, starting at `start`.
    ///
    /// - Returns: one timing per send, ordered by (step, index in step); the finish is the latest delivery.
    /// - Throws: routing errors from the topology (unknown or failed hosts, no path).
    public static func simulate(_ plan: Plan, on topology: Topology, start: SimInstant = .zero,
                                phase: PhaseTag = .none) throws(ClusterError) -> [Timing] {
        let h = topology.hostCount
        let steps = plan.steps.count
        for step in plan.steps {
            for s in step {
                try topology.checkHost(s.from, context: "\(plan.name) send \(s)")
                try topology.checkHost(s.to, context: "\(plan.name) send \(s)")
            }
        }
        // ready[k][h]: when host h may start its step-k sends (nil: not known yet).
        var ready = [[SimInstant?]](repeating: [SimInstant?](repeating: nil, count: h), count: steps + 1)
        var incoming = [[Int]](repeating: [Int](repeating: 0, count: h), count: steps)
        var lastArrival = [[SimInstant?]](repeating: [SimInstant?](repeating: nil, count: h), count: steps)
        for (k, step) in plan.steps.enumerated() { for s in step { incoming[k][s.to.rawValue] += 1 } }
        for host in 0..<h { ready[0][host] = start }

        var timings: [Timing] = []
        var index: [FlowID: Int] = [:]
        var pending: [(at: SimInstant, step: Int, index: Int, send: Send)] = []  // kept sorted by (at, order added)
        var scheduled = [[Bool]](repeating: [Bool](repeating: false, count: h), count: steps)
        var net = FlowNetwork(topology: topology)
        var nextFlow = 0

        func resolve() {
            var progress = true
            while progress {
                progress = false
                for k in 0..<steps {
                    for host in 0..<h {
                        if let r = ready[k][host], !scheduled[k][host] {
                            scheduled[k][host] = true
                            progress = true
                            for (i, s) in plan.steps[k].enumerated() where s.from.rawValue == host {
                                let pos = pending.firstIndex { $0.at > r } ?? pending.count
                                pending.insert((r, k, i, s), at: pos)
                            }
                        }
                        if ready[k + 1][host] == nil, let r = ready[k][host], incoming[k][host] == 0 {
                            ready[k + 1][host] = max(r, lastArrival[k][host] ?? r)
                            progress = true
                        }
                    }
                }
            }
        }

        func handle(_ deliveries: [FlowNetwork.Delivery]) {
            for d in deliveries {
                let i = index[d.flow]!
                timings[i].delivered = d.at
                let k = timings[i].step, to = timings[i].send.to.rawValue
                incoming[k][to] -= 1
                lastArrival[k][to] = max(lastArrival[k][to] ?? d.at, d.at)
            }
            resolve()
        }

        resolve()
        while !pending.isEmpty || net.nextEventTime() != nil {
            if let first = pending.first, net.nextEventTime().map({ first.at <= $0 }) ?? true {
                handle(net.advanceDeliveries(to: first.at))
                while let p = pending.first, p.at == first.at {
                    pending.removeFirst()
                    let id = FlowID(nextFlow)
                    nextFlow += 1
                    try net.start(id, from: p.send.from, to: p.send.to, bytes: p.send.bytes, at: p.at, phase: phase)
                    index[id] = timings.count
                    timings.append(Timing(step: p.step, index: p.index, send: p.send, flow: id, sent: p.at, delivered: p.at))
                }
            } else if let t = net.nextEventTime() {
                handle(net.advanceDeliveries(to: t))
            }
        }
        return timings.sorted { ($0.step, $0.index) < ($1.step, $1.index) }
    }

    /// Latest delivery of a simulated plan minus `start` (zero for an empty plan).
    public static func simulatedTime(_ plan: Plan, on topology: Topology) throws(ClusterError) -> SimDuration {
        let timings = try simulate(plan, on: topology)
        return (timings.map(\.delivered).max() ?? .zero) - .zero
    }
}
