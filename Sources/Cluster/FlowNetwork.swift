/// Flow-level network model: messages share link bandwidth with max-min fairness while they overlap.
///
/// This is the fluid model SimGrid validated for TCP-like traffic (Velho, Schnorr, Casanova, Legrand,
/// "On the Validity of Flow-level TCP Network Models for Grid and Cloud Simulations", ACM TOMACS 2013),
/// without its latency/bandwidth correction factors:
///
/// 1. A message (a *flow*) of `b` bytes over route `r` first waits `Σ latency(l ∈ r)`; no bandwidth is
///    used meanwhile.
/// 2. It then transfers its bytes at a rate fixed by **max-min fairness** over all currently
///    transferring flows (progressive filling: repeatedly take the link whose remaining capacity per
///    unfixed flow is smallest, fix its unfixed flows at that share, subtract it from every link they
///    cross). Rates are recomputed whenever a flow enters or leaves the transfer phase.
/// 3. It is delivered when its bytes are transferred. Zero-byte messages are delivered right after the
///    latency.
///
/// A lone flow thus arrives at exactly `start + latency + ceil(b · 1e9 / bandwidth)` ns.
///
/// Numerics: time is integral (ns). Remaining bytes are a `Double` updated at each event by
/// `rate × elapsed`; a completion instant is rounded *up* to a whole ns (a value within 1e-9 relative
/// of an integer is snapped to it, so exact quotients do not gain a spurious ns), and at that instant
/// the flow is delivered (its remaining bytes are then floating-point residue). A flow whose remaining
/// bytes fall to `1e-9 × bytes` or less when rates are recomputed is delivered at that instant.
///
/// Determinism: all iteration is over flows sorted by `FlowID` and links sorted by `LinkID`.
///
/// Usage by an event engine: `start(...)` flows at the current instant, ask `nextEventTime()`, and call
/// `advance(to:)` with it (or with an earlier time when something else happens first); `advance` returns
/// the flows delivered on the way.
///
/// - Complexity: each rate recomputation is O(L · F) for F transferring flows over L links.
public struct FlowNetwork: Sendable {
    /// Where a flow is in its life.
    public enum FlowState: Sendable, Hashable {
        /// Waiting for the route latency to elapse; transfer starts at the associated instant.
        case latency(until: SimInstant)
        case transferring
        case delivered(at: SimInstant)
    }

    /// One delivery: `flow` arrived at `at`.
    public struct Delivery: Sendable, Hashable {
        public var flow: FlowID
        public var at: SimInstant
        public init(flow: FlowID, at: SimInstant) { self.flow = flow; self.at = at }
    }

    /// Everything known about one flow.
    public struct FlowInfo: Sendable, Hashable {
        public let id: FlowID
        public let from: HostID
        public let to: HostID
        public let route: [LinkID]
        public let bytes: Int
        public let phase: String
        public let startedAt: SimInstant
        /// `startedAt + route latency`: when the bandwidth-sharing phase begins.
        public let transferStartsAt: SimInstant
        public internal(set) var state: FlowState
        /// Current rate, bytes/s (0 unless transferring).
        public internal(set) var rate: Double
        /// Bytes not yet transferred, as of the network's current instant.
        public internal(set) var remainingBytes: Double
    }

    public let topology: Topology
    /// The instant the network has been advanced to.
    public private(set) var now: SimInstant = .zero

    private var flows: [FlowID: FlowInfo] = [:]
    /// Flows waiting out their latency, sorted by (transferStartsAt, id).
    private var waiting: [FlowID] = []
    /// Flows in the transfer phase, sorted by id.
    private var transferring: [FlowID] = []
    /// Projected completion instant of each transferring flow (valid until the next rate change).
    private var completionAt: [FlowID: SimInstant] = [:]

    // Counters.
    private var linkBytes: [LinkID: Int] = [:]
    private var linkPhaseBytes: [LinkID: [String: Int]] = [:]
    private var linkBusy: [LinkID: SimDuration] = [:]
    private var linkActive: [LinkID: Int] = [:]
    private var linkBusySince: [LinkID: SimInstant] = [:]

    public init(topology: Topology) { self.topology = topology }

    // MARK: Starting flows

    /// Hands a message of `bytes` bytes from `from` to `to` to the network at `at`.
    ///
    /// - Parameters:
    ///   - id: unique within the run.
    ///   - phase: a label for the per-phase byte counters (e.g. `"prefill"`).
    /// - Throws: `.unknownHost`, `.hostFailed`, `.noPath` from routing; `.invalidFlow` for a duplicate
    ///   id, `bytes < 0`, `at` before `now`, or `at` later than a pending event (call `advance(to: at)` first
    ///   so that no delivery is skipped).
    public mutating func start(_ id: FlowID, from: HostID, to: HostID, bytes: Int, at: SimInstant,
                               phase: String = "") throws(ClusterError) {
        if flows[id] != nil { throw .invalidFlow(id, reason: "flow id already used in this network") }
        if bytes < 0 { throw .invalidFlow(id, reason: "message size must be >= 0 bytes, got \(bytes)") }
        if at < now {
            throw .invalidFlow(id, reason: "start time \(at.nanoseconds) ns is before the network's current time \(now.nanoseconds) ns")
        }
        if let next = nextEventTime(), next < at {
            throw .invalidFlow(id, reason: "start time \(at.nanoseconds) ns skips a pending network event at \(next.nanoseconds) ns; call advance(to:) first")
        }
        let route = try topology.route(from: from, to: to)
        if at > now { progress(to: at) }
        let begins = at + topology.latency(of: route)
        flows[id] = FlowInfo(id: id, from: from, to: to, route: route, bytes: bytes, phase: phase,
                             startedAt: at, transferStartsAt: begins, state: .latency(until: begins),
                             rate: 0, remainingBytes: Double(bytes))
        insertWaiting(id, begins: begins)
    }

    private mutating func insertWaiting(_ id: FlowID, begins: SimInstant) {
        // Binary search for the first element ordered after (begins, id).
        var lo = 0, hi = waiting.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let other = flows[waiting[mid]]!.transferStartsAt
            if (other, waiting[mid]) < (begins, id) { lo = mid + 1 } else { hi = mid }
        }
        waiting.insert(id, at: lo)
    }

    // MARK: Events

    /// The earliest instant at which a flow leaves its latency phase or is delivered, or `nil` if the
    /// network is idle.
    public func nextEventTime() -> SimInstant? {
        var best: SimInstant? = nil
        if let first = waiting.first { best = flows[first]!.transferStartsAt }
        for id in transferring {
            let t = completionAt[id]!
            if best == nil || t < best! { best = t }
        }
        return best
    }

    /// Moves the network to `time`, processing every event at or before it.
    ///
    /// - Returns: the flows delivered in `(now, time]` (and any zero-latency ones due at `now`), ordered
    ///   by delivery instant, then `FlowID`.
    /// - Precondition: `time >= now`.
    public mutating func advance(to time: SimInstant) -> [FlowID] {
        advanceDeliveries(to: time).map(\.flow)
    }

    /// As `advance(to:)`, with each flow's delivery instant.
    public mutating func advanceDeliveries(to time: SimInstant) -> [Delivery] {
        precondition(time >= now, "FlowNetwork.advance(to: \(time.nanoseconds) ns) is before now (\(now.nanoseconds) ns)")
        var delivered: [Delivery] = []
        while let next = nextEventTime(), next <= time {
            progress(to: next)
            var changed = false
            // Flows whose latency ends now enter the transfer phase (or are delivered if empty).
            while let first = waiting.first, flows[first]!.transferStartsAt <= next {
                waiting.removeFirst()
                if flows[first]!.bytes == 0 {
                    flows[first]!.state = .delivered(at: next)
                    flows[first]!.remainingBytes = 0
                    delivered.append(Delivery(flow: first, at: next))
                } else {
                    flows[first]!.state = .transferring
                    Self.insertSorted(&transferring, first)
                    for link in flows[first]!.route { linkEnter(link) }
                    changed = true
                }
            }
            // Flows due now are delivered.
            var finished: [FlowID] = []
            // (Flows that entered transfer just now have no projection yet and cannot be done.)
            for id in transferring {
                if let due = completionAt[id], due <= next { finished.append(id) }
            }
            for id in finished {
                var info = flows[id]!
                info.state = .delivered(at: next)
                info.remainingBytes = 0
                info.rate = 0
                flows[id] = info
                completionAt[id] = nil
                transferring.removeAll { $0 == id }
                for link in info.route {
                    linkLeave(link)
                    linkBytes[link, default: 0] += info.bytes
                    linkPhaseBytes[link, default: [:]][info.phase, default: 0] += info.bytes
                }
                delivered.append(Delivery(flow: id, at: next))
                changed = true
            }
            if changed { recomputeRates() }
        }
        progress(to: time)
        delivered.sort { ($0.at, $0.flow) < ($1.at, $1.flow) }
        return delivered
    }

    /// Removes a flow that has not been delivered (e.g. its receiver failed). Bytes it moved are not
    /// counted. Returns whether it was in flight.
    @discardableResult
    public mutating func cancel(_ id: FlowID) -> Bool {
        guard let info = flows[id] else { return false }
        switch info.state {
        case .delivered: return false
        case .latency:
            waiting.removeAll { $0 == id }
            flows[id] = nil
            return true
        case .transferring:
            transferring.removeAll { $0 == id }
            completionAt[id] = nil
            for link in info.route { linkLeave(link) }
            flows[id] = nil
            recomputeRates()
            return true
        }
    }

    // MARK: Accessors

    /// Everything known about `id` (also after delivery), or nil if it was never started.
    public func flow(_ id: FlowID) -> FlowInfo? { flows[id] }
    public func route(of id: FlowID) -> [LinkID]? { flows[id]?.route }
    /// Current max-min fair rate of `id`, bytes/s (0 while waiting out latency or after delivery).
    public func rate(of id: FlowID) -> Double? { flows[id]?.rate }
    public func bytes(of id: FlowID) -> Int? { flows[id]?.bytes }
    public func remainingBytes(of id: FlowID) -> Double? { flows[id]?.remainingBytes }
    public func state(of id: FlowID) -> FlowState? { flows[id]?.state }
    /// Flows not yet delivered, sorted by id.
    public var flowsInFlight: [FlowID] { (waiting + transferring).sorted() }
    /// Projected delivery instant of a transferring flow if no other flow starts or ends meanwhile.
    public func projectedDelivery(of id: FlowID) -> SimInstant? { completionAt[id] }

    // MARK: Counters

    /// Bytes delivered across `link` so far (each flow counts fully on every link of its route, when delivered).
    public func bytesCarried(by link: LinkID) -> Int { linkBytes[link] ?? 0 }
    /// Bytes delivered across `link` by flows started with `phase`.
    public func bytesCarried(by link: LinkID, phase: String) -> Int { linkPhaseBytes[link]?[phase] ?? 0 }
    /// Phases seen on `link`, sorted, with their bytes.
    public func phaseBytes(on link: LinkID) -> [(phase: String, bytes: Int)] {
        (linkPhaseBytes[link] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
    /// Time up to `now` during which at least one flow was transferring over `link`.
    public func busyTime(of link: LinkID) -> SimDuration {
        var busy = linkBusy[link] ?? .zero
        if let since = linkBusySince[link] { busy = busy + (now - since) }
        return busy
    }
    /// `busyTime(of:) / now` (0 at time zero).
    public func utilisation(of link: LinkID) -> Double {
        now.nanoseconds > 0 ? Double(busyTime(of: link).nanoseconds) / Double(now.nanoseconds) : 0
    }

    // MARK: Internals

    private mutating func linkEnter(_ link: LinkID) {
        let n = linkActive[link] ?? 0
        if n == 0 { linkBusySince[link] = now }
        linkActive[link] = n + 1
    }

    private mutating func linkLeave(_ link: LinkID) {
        let n = linkActive[link]!
        if n == 1 {
            linkBusy[link] = (linkBusy[link] ?? .zero) + (now - linkBusySince[link]!)
            linkBusySince[link] = nil
            linkActive[link] = nil
        } else {
            linkActive[link] = n - 1
        }
    }

    /// Moves transferring flows' remaining bytes forward to `time` at their current rates.
    private mutating func progress(to time: SimInstant) {
        precondition(time >= now)
        let dt = Double((time - now).nanoseconds) / 1e9
        if dt > 0 {
            for id in transferring {
                let info = flows[id]!
                flows[id]!.remainingBytes = max(0, info.remainingBytes - info.rate * dt)
            }
        }
        now = time
    }

    /// Max-min fair rates by progressive filling, then each transferring flow's projected completion.
    private mutating func recomputeRates() {
        guard !transferring.isEmpty else { return }
        // Links in use, sorted; per link: remaining capacity and unfixed flows.
        var linkIndex: [LinkID: Int] = [:]
        var linkList: [LinkID] = []
        for id in transferring { for l in flows[id]!.route where linkIndex[l] == nil { linkIndex[l] = 0; linkList.append(l) } }
        linkList.sort()
        for (i, l) in linkList.enumerated() { linkIndex[l] = i }
        var capacity = linkList.map { topology.bandwidth(of: $0) }
        var unfixedCount = [Int](repeating: 0, count: linkList.count)
        var flowsOnLink = [[Int]](repeating: [], count: linkList.count)
        let routes: [[Int]] = transferring.map { id in flows[id]!.route.map { linkIndex[$0]! } }
        for (f, r) in routes.enumerated() { for l in r { unfixedCount[l] += 1; flowsOnLink[l].append(f) } }
        var rate = [Double](repeating: -1, count: transferring.count)
        var unfixed = transferring.count
        while unfixed > 0 {
            // Most constrained link: smallest capacity share; ties -> smallest LinkID (index order).
            var best = -1
            var bestShare = Double.infinity
            for l in 0..<linkList.count where unfixedCount[l] > 0 {
                let share = max(0, capacity[l]) / Double(unfixedCount[l])
                if share < bestShare { bestShare = share; best = l }
            }
            precondition(best >= 0, "max-min filling found no link for \(unfixed) unfixed flows")
            for f in flowsOnLink[best] where rate[f] < 0 {
                rate[f] = bestShare
                unfixed -= 1
                for l in routes[f] {
                    capacity[l] -= bestShare
                    unfixedCount[l] -= 1
                }
            }
        }
        for (f, id) in transferring.enumerated() {
            flows[id]!.rate = rate[f]
            completionAt[id] = Self.completion(now: now, remaining: flows[id]!.remainingBytes,
                                               bytes: flows[id]!.bytes, rate: rate[f])
        }
    }

    /// `now + remaining / rate`, rounded up to a whole ns (snapping values within 1e-9 relative of an
    /// integer), and at least `now` when the flow is (numerically) done already.
    static func completion(now: SimInstant, remaining: Double, bytes: Int, rate: Double) -> SimInstant {
        if remaining <= 1e-9 * Double(bytes) { return now }
        precondition(rate > 0, "a transferring flow got rate \(rate)")
        let ns = remaining / rate * 1e9
        let nearest = ns.rounded()
        let whole = abs(ns - nearest) <= 1e-9 * max(1, ns) ? nearest : ns.rounded(.up)
        return now + SimDuration(nanoseconds: max(1, Int64(whole)))
    }

    private static func insertSorted(_ array: inout [FlowID], _ id: FlowID) {
        var lo = 0, hi = array.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if array[mid] < id { lo = mid + 1 } else { hi = mid }
        }
        array.insert(id, at: lo)
    }
}
