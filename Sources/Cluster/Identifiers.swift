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

/// The phase a compute step or message belongs to, for per-phase time and traffic. The engine does
/// not interpret phases; the layer above names them (`DistributedAttention.Phase` maps onto these as
/// `context`, `query`, `generation`). ``none`` is the phase of work given none. Ordered by name.
public struct PhaseTag: Hashable, Comparable, Sendable, CustomStringConvertible,
                        ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public let name: String
    public init(_ name: String) { self.name = name }
    public init(stringLiteral value: String) { self.name = value }
    public static let none = PhaseTag("")
    public var isNone: Bool { name.isEmpty }
    public static func < (a: PhaseTag, b: PhaseTag) -> Bool { a.name < b.name }
    public var description: String { name }
}

extension Dictionary where Key == PhaseTag {
    /// The same values keyed by phase name (for JSON and other string-keyed outputs).
    public var keyedByName: [String: Value] {
        Dictionary<String, Value>(uniqueKeysWithValues: map { ($0.key.name, $0.value) })
    }
}
