/// Everything that can go wrong when describing or running a simulated cluster.
///
/// A public struct wrapping an internal enum (so cases can be added without breaking clients). The
/// `description` names the hosts, links and values involved and what was expected. Match on `code`
/// to react to a kind of error programmatically.
public struct ClusterError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What went wrong, for programmatic matching (`if error.code == .deadlock`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let noPath = Code("noPath")
        public static let invalidBandwidth = Code("invalidBandwidth")
        public static let negativeLatency = Code("negativeLatency")
        public static let noHosts = Code("noHosts")
        public static let invalidGPUsPerHost = Code("invalidGPUsPerHost")
        public static let unknownHost = Code("unknownHost")
        public static let hostFailed = Code("hostFailed")
        public static let deadlock = Code("deadlock")
        public static let outOfMemory = Code("outOfMemory")
        public static let invalidFlow = Code("invalidFlow")
        public static let tooManyEvents = Code("tooManyEvents")
        public static let pastHorizon = Code("pastHorizon")
        public static let invalidFault = Code("invalidFault")
    }

    enum Kind: Hashable, Sendable {
        case noPath(from: HostID, to: HostID, shape: TopologyShape, reason: String)
        case invalidBandwidth(field: String, profile: String, value: Double)
        case negativeLatency(field: String, profile: String, value: SimDuration)
        case noHosts(count: Int)
        case invalidGPUsPerHost(value: Int)
        case unknownHost(host: HostID, hostCount: Int, context: String)
        case hostFailed(host: HostID, from: HostID?, context: String)
        case deadlock(at: SimInstant, waiting: [Waiting])
        case outOfMemory(host: HostID, neededBytes: Int64, inUseBytes: Int64, capacityBytes: Int64, label: String)
        case invalidFlow(flow: FlowID, reason: String)
        case tooManyEvents(limit: Int, at: SimInstant)
        case pastHorizon(at: SimInstant, label: String)
        case invalidFault(field: String, reason: String)
    }

    /// One blocked host in a deadlock report: the host and what it waits for, in words
    /// (e.g. `"message kv layer 3 from host1"`).
    public struct Waiting: Hashable, Sendable {
        public var host: HostID
        public var waitingFor: String
        public init(host: HostID, waitingFor: String) { self.host = host; self.waitingFor = waitingFor }
    }

    let kind: Kind
    init(_ kind: Kind) { self.kind = kind }

    public var code: Code {
        switch kind {
        case .noPath: .noPath
        case .invalidBandwidth: .invalidBandwidth
        case .negativeLatency: .negativeLatency
        case .noHosts: .noHosts
        case .invalidGPUsPerHost: .invalidGPUsPerHost
        case .unknownHost: .unknownHost
        case .hostFailed: .hostFailed
        case .deadlock: .deadlock
        case .outOfMemory: .outOfMemory
        case .invalidFlow: .invalidFlow
        case .tooManyEvents: .tooManyEvents
        case .pastHorizon: .pastHorizon
        case .invalidFault: .invalidFault
        }
    }

    public var description: String {
        switch kind {
        case let .noPath(from, to, shape, reason):
            return "no path from \(from) to \(to) in the \(shape.rawValue) topology: \(reason)"
        case let .invalidBandwidth(field, profile, value):
            return "\(field) '\(profile)': bandwidth must be a finite number of bytes/s greater than 0, got \(value)"
        case let .negativeLatency(field, profile, value):
            return "\(field) '\(profile)': latency must be >= 0 ns, got \(value.nanoseconds) ns"
        case let .noHosts(count):
            return "hosts: a cluster needs at least 1 host, got \(count)"
        case let .invalidGPUsPerHost(value):
            return "gpusPerHost: each host needs at least 1 GPU, got \(value)"
        case let .unknownHost(host, hostCount, context):
            let range = hostCount > 0 ? "host0...host\(hostCount - 1)" : "none (the cluster has 0 hosts)"
            return "\(context): unknown host \(host) (raw value \(host.rawValue)); valid hosts are \(range)"
        case let .hostFailed(host, from, context):
            if let from {
                return "\(context): message from \(from) to failed host \(host); \(host) was marked failed and receives nothing"
            }
            return "\(context): \(host) was marked failed and can neither send nor receive"
        case let .deadlock(at, waiting):
            let list = waiting.sorted { $0.host < $1.host }
                .map { "\($0.host) waits for \($0.waitingFor)" }
                .joined(separator: "; ")
            return "deadlock at \(at): no event is pending but \(waiting.count) host(s) still wait: \(list)"
        case let .outOfMemory(host, needed, inUse, capacity, label):
            return "out of memory on \(host) allocating '\(label)': needs \(needed) bytes with \(inUse) in use, "
                + "capacity \(capacity) bytes (short by \(needed + inUse - capacity) bytes)"
        case let .invalidFlow(flow, reason):
            return "\(flow): \(reason)"
        case let .tooManyEvents(limit, at):
            return "the run needs more than \(limit) simulated events (stopped at \(at) of simulated time), "
                + "the limit for one run; use fewer hosts or generated tokens"
        case let .pastHorizon(at, label):
            return "simulated time passed \(at) at '\(label)', beyond the \(Int(InputLimits.simulatedTimeHorizonSeconds / 31_557_600))-year "
                + "horizon of a run; the device or link profile is far too slow for this work"
        case let .invalidFault(field, reason):
            return "\(field): \(reason)"
        }
    }

    // MARK: Constructors (for the engine and other modules)

    /// No route from `from` to `to`; `reason` says why (e.g. "both ring directions pass a failed host").
    public static func noPath(from: HostID, to: HostID, shape: TopologyShape, reason: String) -> ClusterError {
        ClusterError(.noPath(from: from, to: to, shape: shape, reason: reason))
    }
    /// A link profile with bandwidth that is zero, negative, NaN or infinite. `field` is where it was
    /// given (e.g. `interHostLink`).
    public static func invalidBandwidth(field: String, profile: String, value: Double) -> ClusterError {
        ClusterError(.invalidBandwidth(field: field, profile: profile, value: value))
    }
    public static func negativeLatency(field: String, profile: String, value: SimDuration) -> ClusterError {
        ClusterError(.negativeLatency(field: field, profile: profile, value: value))
    }
    public static func noHosts(count: Int) -> ClusterError { ClusterError(.noHosts(count: count)) }
    public static func invalidGPUsPerHost(_ value: Int) -> ClusterError { ClusterError(.invalidGPUsPerHost(value: value)) }
    /// `host` is outside `0..<hostCount`; `context` says where it was used (e.g. "send kv layer 3").
    public static func unknownHost(_ host: HostID, hostCount: Int, context: String) -> ClusterError {
        ClusterError(.unknownHost(host: host, hostCount: hostCount, context: context))
    }
    /// A message to (or, with `from == nil`, from) a host that was marked failed.
    public static func hostFailed(_ host: HostID, messageFrom from: HostID?, context: String) -> ClusterError {
        ClusterError(.hostFailed(host: host, from: from, context: context))
    }
    /// The engine found no pending event while `waiting` hosts still wait.
    public static func deadlock(at: SimInstant, waiting: [Waiting]) -> ClusterError {
        ClusterError(.deadlock(at: at, waiting: waiting))
    }
    /// An allocation of `neededBytes` on `host` with `inUseBytes` already in use exceeds `capacityBytes`.
    public static func outOfMemory(host: HostID, neededBytes: Int64, inUseBytes: Int64, capacityBytes: Int64,
                                   label: String) -> ClusterError {
        ClusterError(.outOfMemory(host: host, neededBytes: neededBytes, inUseBytes: inUseBytes,
                                  capacityBytes: capacityBytes, label: label))
    }
    /// The run handled `limit` events and was stopped (`SimulationOptions.eventLimit`).
    public static func tooManyEvents(limit: Int, at: SimInstant) -> ClusterError {
        ClusterError(.tooManyEvents(limit: limit, at: at))
    }
    /// An event was due after `InputLimits.simulatedTimeHorizonSeconds`.
    public static func pastHorizon(at: SimInstant, label: String) -> ClusterError {
        ClusterError(.pastHorizon(at: at, label: label))
    }
    /// A fault (`FaultPlan`) that cannot apply: `field` names it (`faults.links[0].bandwidth_factor`).
    public static func invalidFault(field: String, reason: String) -> ClusterError {
        ClusterError(.invalidFault(field: field, reason: reason))
    }
    /// A flow that cannot be started (duplicate id, negative size, start in the past…).
    public static func invalidFlow(_ flow: FlowID, reason: String) -> ClusterError {
        ClusterError(.invalidFlow(flow: flow, reason: reason))
    }
}
