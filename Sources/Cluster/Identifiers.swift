/// A simulated host: one process holding its own KV shard (in the paper's runs, one process with
/// `gpusPerHost` GPUs). Hosts are numbered 0..<hostCount.
public struct HostID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: HostID, b: HostID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "host\(rawValue)" }
}

/// A directed link. `from == to` is the host's internal (intra-host, NVLink-class) link, used by
/// traffic between the GPUs of one host.
public struct LinkID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let from: HostID
    public let to: HostID
    public init(from: HostID, to: HostID) { self.from = from; self.to = to }
    public static func < (a: LinkID, b: LinkID) -> Bool { (a.from, a.to) < (b.from, b.to) }
    public var isIntraHost: Bool { from == to }
    public var description: String { isIntraHost ? "\(from)(intra)" : "\(from)->\(to)" }
}

/// One message in flight on the network; unique within a run, assigned in send order.
public struct FlowID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: FlowID, b: FlowID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "flow\(rawValue)" }
}
