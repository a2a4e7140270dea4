extension TopologyDescription {
    /// Checks the description and throws the first problem found, naming the field and value.
    ///
    /// Rules: `hosts >= 1`; `gpusPerHost >= 1`; both link profiles have a finite bandwidth > 0 and a
    /// latency >= 0.
    public func validate() throws(ClusterError) {
        if hosts < 1 { throw .noHosts(count: hosts) }
        if gpusPerHost < 1 { throw .invalidGPUsPerHost(gpusPerHost) }
        for (field, link) in [("intraHostLink", intraHostLink), ("interHostLink", interHostLink)] {
            let bw = link.bandwidthBytesPerSecond
            if !(bw.isFinite && bw > 0) {
                throw .invalidBandwidth(field: field, profile: link.name, value: bw)
            }
            if link.latency.nanoseconds < 0 {
                throw .negativeLatency(field: field, profile: link.name, value: link.latency)
            }
        }
    }
}

/// A validated cluster: hosts `0..<hostCount`, their directed links with profiles, and routes.
///
/// Links:
/// - every host `h` has an intra-host link `LinkID(from: h, to: h)` with `intraHostLink`'s profile
///   (traffic between the GPUs of one host);
/// - `.fullyConnected`: a link `i → j` for every ordered pair `i != j`;
/// - `.ring`: links `i → (i+1) % H` and `i → (i−1+H) % H` (for `H == 2` these are the same link, listed once).
///
/// Routes (`route(from:to:)`): the intra-host link when `from == to`; the direct link when it exists;
/// on a ring, hop by hop in the shorter direction (ties clockwise, i.e. towards increasing ids), or
/// the other direction if the shorter one passes a failed host.
///
/// A host can be marked failed (`markFailed`): messages to or from it then throw `ClusterError`
/// (`.hostFailed`), and ring routes avoid forwarding through it.
public struct Topology: Sendable, Hashable {
    /// The description this topology was built from.
    public let spec: TopologyDescription
    /// All links, sorted by `(from, to)`.
    public let links: [LinkID]
    /// Hosts marked failed, sorted.
    public private(set) var failedHosts: [HostID] = []

    /// Validates `description` and builds the link set.
    /// - Complexity: O(H²) for fully connected, O(H) for a ring.
    public init(_ description: TopologyDescription) throws(ClusterError) {
        try description.validate()
        spec = description
        let h = description.hosts
        var set = Set<LinkID>()
        for i in 0..<h { set.insert(LinkID(from: HostID(i), to: HostID(i))) }
        switch description.shape {
        case .fullyConnected:
            for i in 0..<h { for j in 0..<h where i != j { set.insert(LinkID(from: HostID(i), to: HostID(j))) } }
        case .ring:
            if h > 1 {
                for i in 0..<h {
                    set.insert(LinkID(from: HostID(i), to: HostID((i + 1) % h)))
                    set.insert(LinkID(from: HostID(i), to: HostID((i - 1 + h) % h)))
                }
            }
        }
        links = set.sorted()
    }

    /// Same as `init(_:)`.
    public init(description: TopologyDescription) throws(ClusterError) { try self.init(description) }

    public var hostCount: Int { spec.hosts }
    /// `host0 ... host(H-1)`, in order.
    public var hosts: [HostID] { (0..<spec.hosts).map(HostID.init) }
    public var gpusPerHost: Int { spec.gpusPerHost }
    public var device: DeviceProfile { spec.device }
    public var shape: TopologyShape { spec.shape }

    /// Whether `host` is in `0..<hostCount`.
    public func contains(_ host: HostID) -> Bool { host.rawValue >= 0 && host.rawValue < spec.hosts }

    /// Throws `.unknownHost` when `host` is not in `0..<hostCount`; `context` names the use.
    public func checkHost(_ host: HostID, context: String) throws(ClusterError) {
        if !contains(host) { throw .unknownHost(host, hostCount: spec.hosts, context: context) }
    }

    /// Whether `link` exists in this topology.
    public func hasLink(_ link: LinkID) -> Bool {
        guard contains(link.from), contains(link.to) else { return false }
        if link.isIntraHost { return true }
        switch spec.shape {
        case .fullyConnected: return true
        case .ring:
            let h = spec.hosts
            let f = link.from.rawValue, t = link.to.rawValue
            return t == (f + 1) % h || t == (f - 1 + h) % h
        }
    }

    /// The profile of `link` (intra-host profile for `from == to`, inter-host otherwise), or `nil`
    /// if the link does not exist.
    public func profile(of link: LinkID) -> LinkProfile? {
        guard hasLink(link) else { return nil }
        return link.isIntraHost ? spec.intraHostLink : spec.interHostLink
    }

    /// Bandwidth of an existing link, bytes/s. - Precondition: `hasLink(link)`.
    func bandwidth(of link: LinkID) -> Double {
        link.isIntraHost ? spec.intraHostLink.bandwidthBytesPerSecond : spec.interHostLink.bandwidthBytesPerSecond
    }

    /// Sum of the latencies of the links of `route`.
    public func latency(of route: [LinkID]) -> SimDuration {
        var total = SimDuration.zero
        for link in route {
            total = total + (link.isIntraHost ? spec.intraHostLink.latency : spec.interHostLink.latency)
        }
        return total
    }

    public func isFailed(_ host: HostID) -> Bool { failedHosts.contains(host) }

    /// Marks `host` failed: later routes to, from or (on a ring) through it fail.
    public mutating func markFailed(_ host: HostID) throws(ClusterError) {
        try checkHost(host, context: "markFailed")
        if !failedHosts.contains(host) {
            failedHosts.append(host)
            failedHosts.sort()
        }
    }

    /// The links a message from `from` to `to` crosses, in order.
    ///
    /// Throws `.unknownHost` for hosts outside `0..<hostCount`, `.hostFailed` when either end is failed,
    /// `.noPath` when a ring route would have to pass a failed host in both directions.
    /// - Complexity: O(hops).
    public func route(from: HostID, to: HostID) throws(ClusterError) -> [LinkID] {
        try checkHost(from, context: "route from \(from) to \(to)")
        try checkHost(to, context: "route from \(from) to \(to)")
        if isFailed(to) { throw .hostFailed(to, messageFrom: from, context: "route from \(from) to \(to)") }
        if isFailed(from) { throw .hostFailed(from, messageFrom: nil, context: "route from \(from) to \(to)") }
        if from == to { return [LinkID(from: from, to: to)] }
        switch spec.shape {
        case .fullyConnected:
            return [LinkID(from: from, to: to)]
        case .ring:
            let h = spec.hosts
            let clockwise = (to.rawValue - from.rawValue + h) % h
            let counter = h - clockwise
            let preferClockwise = clockwise <= counter
            let first = ringPath(from: from, hops: preferClockwise ? clockwise : counter, step: preferClockwise ? 1 : -1)
            if let first { return first }
            let second = ringPath(from: from, hops: preferClockwise ? counter : clockwise, step: preferClockwise ? -1 : 1)
            if let second { return second }
            let blocked = failedHosts.map(\.description).joined(separator: ", ")
            throw .noPath(from: from, to: to, shape: .ring,
                          reason: "both ring directions pass a failed host (failed: \(blocked))")
        }
    }

    /// A route from `from` to `to` that crosses none of the `down` links if the topology has one:
    /// the usual route when it is clear; otherwise, fully connected, two hops through the
    /// lowest-numbered working host whose two links are up; on a ring, the other direction.
    /// When no clear route exists the usual one is returned with `waits == true` (its bytes wait
    /// for the link to come back).
    ///
    /// Throws as `route(from:to:)`.
    public func route(from: HostID, to: HostID, avoiding down: Set<LinkID>) throws(ClusterError)
        -> (route: [LinkID], rerouted: Bool, waits: Bool) {
        let usual = try route(from: from, to: to)
        if down.isEmpty || !usual.contains(where: down.contains) { return (usual, false, false) }
        switch spec.shape {
        case .fullyConnected:
            for k in hosts where k != from && k != to && !isFailed(k) {
                let a = LinkID(from: from, to: k), b = LinkID(from: k, to: to)
                if !down.contains(a) && !down.contains(b) { return ([a, b], true, false) }
            }
        case .ring:
            let h = spec.hosts
            let clockwise = (to.rawValue - from.rawValue + h) % h
            let usedClockwise = usual.first.map { ($0.to.rawValue - $0.from.rawValue + h) % h == 1 } ?? true
            let other = usedClockwise
                ? ringPath(from: from, hops: h - clockwise, step: -1)
                : ringPath(from: from, hops: clockwise, step: 1)
            if let other, !other.isEmpty, !other.contains(where: down.contains) { return (other, true, false) }
        }
        return (usual, false, true)
    }

    /// Hop-by-hop ring path, or nil if an intermediate host is failed.
    private func ringPath(from: HostID, hops: Int, step: Int) -> [LinkID]? {
        let h = spec.hosts
        var path: [LinkID] = []
        path.reserveCapacity(hops)
        var current = from.rawValue
        for hop in 0..<hops {
            let next = (current + step + h) % h
            if hop < hops - 1, isFailed(HostID(next)) { return nil }
            path.append(LinkID(from: HostID(current), to: HostID(next)))
            current = next
        }
        return path
    }
}
