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
        public let phase: PhaseTag
        public let startedAt: SimInstant
        /// `startedAt + route latency`: when the bandwidth-sharing phase begins.
        public let transferStartsAt: SimInstant
        public internal(set) var state: FlowState
        /// Current rate, bytes/s (0 unless transferring).
        public internal(set) var rate: Double
        /// Bytes not yet transferred, as of the network's current instant.
        public internal(set) var remainingBytes: Double
    }

    /// The topology routes are computed on (with the hosts marked failed so far).
    public private(set) var topology: Topology
    /// The instant the network has been advanced to.
    public private(set) var now: SimInstant = .zero

    /// Static facts and last known state of every flow ever started. For transferring flows, `rate`
    /// and `remainingBytes` live in `active` and are merged in by the accessors.
    private var flows: [FlowID: FlowInfo] = [:]
    /// Flows waiting out their latency, sorted by (transferStartsAt, id).
    private var waiting: [(begins: SimInstant, id: FlowID)] = []
    /// Flows in the transfer phase, sorted by id (hot state kept in an array: no hashing per event).
    private var active: [Active] = []

    private struct Active {
        var id: FlowID
        /// Indices into `linkIDs` of the route's links.
        var links: [Int]
        var bytes: Int
        var rate: Double
        var remaining: Double
        /// Projected delivery at the current rate (nil until the first rate computation).
        var completion: SimInstant?
    }

    // Per-link state, indexed like `linkIDs` (= `topology.links`).
    private let linkIDs: [LinkID]
    private let linkSlot: [LinkID: Int]
    /// Bandwidth of each link as the topology gives it, bytes/s.
    private let linkBaseCapacity: [Double]
    /// Bandwidth now (base × the fault factor in effect; 0 while the link is down), bytes/s.
    private var linkCapacity: [Double]
    /// Latency added to every message that starts crossing the link now (faults).
    private var linkExtraLatency: [SimDuration]
    /// Links that are down now; new routes avoid them where the topology allows.
    public private(set) var downLinks: Set<LinkID> = []
    private var linkActiveCount: [Int]
    private var linkBusySince: [SimInstant?]
    private var linkBusy: [SimDuration]

    // Byte counters.

    public init(topology: Topology) {
        self.topology = topology
        linkIDs = topology.links
        linkSlot = Dictionary(uniqueKeysWithValues: topology.links.enumerated().map { ($0.element, $0.offset) })
        linkBaseCapacity = topology.links.map { topology.bandwidth(of: $0) }
        linkCapacity = linkBaseCapacity
        linkExtraLatency = Array(repeating: .zero, count: topology.links.count)
        linkActiveCount = Array(repeating: 0, count: topology.links.count)
        linkBusySince = Array(repeating: nil, count: topology.links.count)
        linkBusy = Array(repeating: .zero, count: topology.links.count)
    }

    // MARK: Starting flows

    /// Hands a message of `bytes` bytes from `from` to `to` to the network at `at`.
    ///
    /// - Parameters:
    ///   - id: unique within the run.
    ///   - phase: a label for the per-phase byte counters (e.g. `"prefill"`).
    /// - Throws: `.unknownHost`, `.hostFailed`, `.noPath` from routing; `.invalidFlow` for a duplicate
    ///   id, `bytes < 0`, `at` before `now`, or `at` later than a pending event (call `advance(to: at)` first
    ///   so that no delivery is skipped).
    /// - Returns: how the route was chosen: `rerouted` when a down link was avoided, `waits` when
    ///   every path crosses a down link (the bytes then wait for it to come back).
    @discardableResult
    public mutating func start(_ id: FlowID, from: HostID, to: HostID, bytes: Int, at: SimInstant,
                               phase: PhaseTag = .none) throws(ClusterError) -> (rerouted: Bool, waits: Bool) {
        if flows[id] != nil { throw .invalidFlow(id, reason: "flow id already used in this network") }
        if bytes < 0 { throw .invalidFlow(id, reason: "message size must be >= 0 bytes, got \(bytes)") }
        if at < now {
            throw .invalidFlow(id, reason: "start time \(at.nanoseconds) ns is before the network's current time \(now.nanoseconds) ns")
        }
        if let next = nextEventTime(), next < at {
            throw .invalidFlow(id, reason: "start time \(at.nanoseconds) ns skips a pending network event at \(next.nanoseconds) ns; call advance(to:) first")
        }
        let (route, rerouted, waits) = try topology.route(from: from, to: to, avoiding: downLinks)
        if at > now { progress(to: at) }
        var begins = at + topology.latency(of: route)
        for link in route { begins = begins + linkExtraLatency[linkSlot[link]!] }
        flows[id] = FlowInfo(id: id, from: from, to: to, route: route, bytes: bytes, phase: phase,
                             startedAt: at, transferStartsAt: begins, state: .latency(until: begins),
                             rate: 0, remainingBytes: Double(bytes))
        // Insert after every element ordered before (begins, id).
        var lo = 0, hi = waiting.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if (waiting[mid].begins, waiting[mid].id) < (begins, id) { lo = mid + 1 } else { hi = mid }
        }
        waiting.insert((begins, id), at: lo)
        return (rerouted, waits)
    }

    /// Changes `link`'s bandwidth to `factor` × its profile's (0 = down) and the latency added to
    /// messages that start crossing it from now on, at `at`. Rates of flows in transfer are
    /// recomputed; a flow on a link that went down waits (rate 0) until the link is back.
    ///
    /// - Throws: `.invalidFlow`-free; `.invalidFault` for a link not in the topology, a factor outside
    ///   [0, 1], or `at` before `now` or after a pending event (call `advance(to: at)` first).
    public mutating func setLinkState(_ link: LinkID, factor: Double, extraLatency: SimDuration,
                                      at: SimInstant) throws(ClusterError) {
        guard let l = linkSlot[link] else {
            throw .invalidFault(field: "link", reason: "no link \(link) in this topology")
        }
        if !(factor.isFinite && factor >= 0 && factor <= 1) {
            throw .invalidFault(field: "\(link)", reason: "bandwidth factor must be in [0, 1], got \(factor)")
        }
        if at < now || (nextEventTime().map { $0 < at } ?? false) {
            throw .invalidFault(field: "\(link)", reason: "state change at \(at) is not at the network's current instant \(now)")
        }
        progress(to: at)
        linkCapacity[l] = linkBaseCapacity[l] * factor
        linkExtraLatency[l] = extraLatency
        if factor == 0 { downLinks.insert(link) } else { downLinks.remove(link) }
        recomputeRates()
    }

    // MARK: Events

    /// The earliest instant at which a flow leaves its latency phase or is delivered, or `nil` if the
    /// network is idle.
    /// - Complexity: O(transferring flows).
    public func nextEventTime() -> SimInstant? {
        var best = waiting.first?.begins
        for a in active {
            if let t = a.completion, best == nil || t < best! { best = t }
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
            // Flows due now are delivered. (Flows entering transfer below have no projection yet.)
            var kept: [Active] = []
            kept.reserveCapacity(active.count)
            for a in active {
                guard let due = a.completion, due <= next else { kept.append(a); continue }
                var info = flows[a.id]!
                info.state = .delivered(at: next)
                info.remainingBytes = 0
                info.rate = 0
                flows[a.id] = info
                for l in a.links { linkLeave(l) }
                delivered.append(Delivery(flow: a.id, at: next))
                changed = true
            }
            active = kept
            // Flows whose latency ends now enter the transfer phase (or are delivered if empty).
            var entering: [Active] = []
            while let first = waiting.first, first.begins <= next {
                waiting.removeFirst()
                let info = flows[first.id]!
                if info.bytes == 0 {
                    flows[first.id]!.state = .delivered(at: next)
                    flows[first.id]!.remainingBytes = 0
                    delivered.append(Delivery(flow: first.id, at: next))
                } else {
                    flows[first.id]!.state = .transferring
                    let links = info.route.map { linkSlot[$0]! }
                    for l in links { linkEnter(l) }
                    entering.append(Active(id: first.id, links: links, bytes: info.bytes, rate: 0,
                                           remaining: Double(info.bytes), completion: nil))
                    changed = true
                }
            }
            if !entering.isEmpty {
                active += entering
                active.sort { $0.id < $1.id }
            }
            if changed { recomputeRates() }
        }
        progress(to: time)
        delivered.sort { ($0.at, $0.flow) < ($1.at, $1.flow) }
        return delivered
    }

    /// Forgets a delivered flow, so that a long run's memory does not grow with the number of messages
    /// already delivered (link byte counters keep their totals). Returns whether it was delivered.
    @discardableResult
    public mutating func forget(_ id: FlowID) -> Bool {
        guard let info = flows[id], case .delivered = info.state else { return false }
        flows[id] = nil
        return true
    }

    /// Removes a flow that has not been delivered (e.g. its receiver failed). Bytes it moved are not
    /// counted. Returns whether it was in flight.
    @discardableResult
    public mutating func cancel(_ id: FlowID) -> Bool {
        guard let info = flows[id] else { return false }
        switch info.state {
        case .delivered: return false
        case .latency:
            waiting.removeAll { $0.id == id }
            flows[id] = nil
            return true
        case .transferring:
            guard let index = active.firstIndex(where: { $0.id == id }) else { return false }
            for l in active[index].links { linkLeave(l) }
            active.remove(at: index)
            flows[id] = nil
            recomputeRates()
            return true
        }
    }

    /// Marks `host` failed: later messages to or from it (or, on a ring, through it) throw. Flows
    /// already in flight are not touched.
    /// - Returns: the undelivered flows whose route starts at, ends at or passes `host`, sorted, so the
    ///   caller can `cancel` them if it wants.
    public mutating func markFailed(_ host: HostID) throws(ClusterError) -> [FlowID] {
        try topology.markFailed(host)
        return flowsInFlight.filter { id in
            flows[id]!.route.contains { $0.from == host || $0.to == host }
        }
    }

    // MARK: Accessors

    /// Everything known about `id` (also after delivery), or nil if it was never started.
    public func flow(_ id: FlowID) -> FlowInfo? {
        guard var info = flows[id] else { return nil }
        if info.state == .transferring, let a = activeEntry(id) {
            info.rate = a.rate
            info.remainingBytes = a.remaining
        }
        return info
    }
    public func route(of id: FlowID) -> [LinkID]? { flows[id]?.route }
    /// Current max-min fair rate of `id`, bytes/s (0 while waiting out latency or after delivery).
    public func rate(of id: FlowID) -> Double? { flow(id)?.rate }
    public func bytes(of id: FlowID) -> Int? { flows[id]?.bytes }
    /// Bytes not yet transferred, as of `now`.
    public func remainingBytes(of id: FlowID) -> Double? { flow(id)?.remainingBytes }
    public func state(of id: FlowID) -> FlowState? { flows[id]?.state }
    /// Flows not yet delivered, sorted by id.
    public var flowsInFlight: [FlowID] { (waiting.map(\.id) + active.map(\.id)).sorted() }
    /// Projected delivery instant of a transferring flow if no other flow starts or ends meanwhile.
    public func projectedDelivery(of id: FlowID) -> SimInstant? { activeEntry(id)?.completion }

    private func activeEntry(_ id: FlowID) -> Active? {
        var lo = 0, hi = active.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if active[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        return lo < active.count && active[lo].id == id ? active[lo] : nil
    }

    // MARK: Counters

    // Bytes per link, phase and host are counted in one place, `RunCounters`, from the run log's
    // transfer records; the network keeps only what it needs to share bandwidth.
    /// Time up to `now` during which at least one flow was transferring over `link` (latency phases
    /// do not count).
    public func busyTime(of link: LinkID) -> SimDuration {
        guard let l = linkSlot[link] else { return .zero }
        var busy = linkBusy[l]
        if let since = linkBusySince[l] { busy = busy + (now - since) }
        return busy
    }
    /// `busyTime(of:) / now` (0 at time zero).
    public func utilisation(of link: LinkID) -> Double {
        now.nanoseconds > 0 ? Double(busyTime(of: link).nanoseconds) / Double(now.nanoseconds) : 0
    }

    // MARK: Internals

    private mutating func linkEnter(_ l: Int) {
        if linkActiveCount[l] == 0 { linkBusySince[l] = now }
        linkActiveCount[l] += 1
    }

    private mutating func linkLeave(_ l: Int) {
        linkActiveCount[l] -= 1
        if linkActiveCount[l] == 0 {
            linkBusy[l] = linkBusy[l] + (now - linkBusySince[l]!)
            linkBusySince[l] = nil
        }
    }

    /// Moves transferring flows' remaining bytes forward to `time` at their current rates.
    private mutating func progress(to time: SimInstant) {
        precondition(time >= now)
        let dt = Double((time - now).nanoseconds) / 1e9
        if dt > 0 {
            for i in active.indices {
                active[i].remaining = max(0, active[i].remaining - active[i].rate * dt)
            }
        }
        now = time
    }

    /// Max-min fair rates by progressive filling, then each transferring flow's projected completion.
    private mutating func recomputeRates() {
        guard !active.isEmpty else { return }
        // Remaining capacity and unfixed-flow count of the links in use (sparse over all links).
        var capacity: [Int: Double] = [:]
        var unfixedCount: [Int: Int] = [:]
        for a in active {
            for l in a.links {
                unfixedCount[l, default: 0] += 1
                if capacity[l] == nil { capacity[l] = linkCapacity[l] }
            }
        }
        let used = unfixedCount.keys.sorted()  // link slots follow LinkID order
        var rate = [Double](repeating: -1, count: active.count)
        var unfixed = active.count
        while unfixed > 0 {
            // Most constrained link: smallest capacity share; ties -> smallest LinkID.
            var best = -1
            var bestShare = Double.infinity
            for l in used {
                let n = unfixedCount[l]!
                guard n > 0 else { continue }
                let share = max(0, capacity[l]!) / Double(n)
                if share < bestShare { bestShare = share; best = l }
            }
            precondition(best >= 0, "max-min filling found no link for \(unfixed) unfixed flows")
            for f in active.indices where rate[f] < 0 && active[f].links.contains(best) {
                rate[f] = bestShare
                unfixed -= 1
                for l in active[f].links {
                    capacity[l]! -= bestShare
                    unfixedCount[l]! -= 1
                }
            }
        }
        for f in active.indices {
            active[f].rate = rate[f]
            let done = active[f].remaining <= 1e-9 * Double(active[f].bytes)
            // A flow on a down link has rate 0: no completion until a rate change gives it one.
            active[f].completion = rate[f] > 0 || done
                ? Self.completion(now: now, remaining: active[f].remaining, bytes: active[f].bytes, rate: rate[f])
                : nil
        }
    }

    /// `now + remaining / rate`, rounded up to a whole ns (snapping values within 1e-9 relative of an
    /// integer), and `now` when the flow is (numerically) done already.
    static func completion(now: SimInstant, remaining: Double, bytes: Int, rate: Double) -> SimInstant {
        if remaining <= 1e-9 * Double(bytes) { return now }
        precondition(rate > 0, "a transferring flow got rate \(rate)")
        let ns = remaining / rate * 1e9
        let nearest = ns.rounded()
        let whole = abs(ns - nearest) <= 1e-9 * max(1, ns) ? nearest : ns.rounded(.up)
        // Saturates rather than traps: a pathological size / rate pair gives a time past the horizon,
        // which the scheduler reports as an error.
        return now + SimDuration(saturatingNanoseconds: max(1, whole))
    }
}
