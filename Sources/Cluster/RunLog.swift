/// Everything that happened in one run, in the order it happened: the single source for traces,
/// the text timeline, counters and the critical path. Written by the engine, read by reporters.
public struct RunLog: Sendable {
    public struct HostInfo: Sendable, Hashable {
        public var id: HostID
        public var name: String
        public init(id: HostID, name: String) { self.id = id; self.name = name }
    }

    /// One record; `id`s are unique across all records of a run and increase in start order.
    public enum Record: Sendable, Hashable {
        case compute(Compute)
        case transfer(Transfer)
        case memory(Memory)
        case mark(Mark)

        /// A compute step on `host` from `start` to `end`. `dependsOn` are the records whose completion
        /// allowed it to start (the event that triggered it, and the host's previous compute if it queued).
        public struct Compute: Sendable, Hashable {
            public var id: Int
            public var host: HostID
            public var label: String
            public var phase: PhaseTag
            public var start: SimInstant
            public var end: SimInstant
            public var dependsOn: [Int]
        }

        /// A message from `from` to `to` over `route`, handed to the network at `sent` and delivered at
        /// `delivered`. `dependsOn` is the record whose completion made the sender send it.
        public struct Transfer: Sendable, Hashable {
            public var id: Int
            public var flow: FlowID
            public var from: HostID
            public var to: HostID
            public var route: [LinkID]
            public var bytes: Int
            public var label: String
            public var phase: PhaseTag
            public var sent: SimInstant
            public var delivered: SimInstant
            public var dependsOn: [Int]
        }

        /// Memory in use on `host` changed to `bytesInUse` at `at`.
        public struct Memory: Sendable, Hashable {
            public var id: Int
            public var host: HostID
            public var at: SimInstant
            public var bytesInUse: Int64
            public var label: String
        }

        /// A point event: a host finishing, an out-of-memory, a failure.
        public struct Mark: Sendable, Hashable {
            public var id: Int
            public var host: HostID
            public var at: SimInstant
            public var label: String
        }

        public static func compute(id: Int, host: HostID, label: String, phase: PhaseTag, start: SimInstant,
                                   end: SimInstant, dependsOn: [Int]) -> Record {
            .compute(Compute(id: id, host: host, label: label, phase: phase, start: start, end: end, dependsOn: dependsOn))
        }

        public static func transfer(id: Int, flow: FlowID, from: HostID, to: HostID, route: [LinkID], bytes: Int,
                                    label: String, phase: PhaseTag, sent: SimInstant, delivered: SimInstant,
                                    dependsOn: [Int]) -> Record {
            .transfer(Transfer(id: id, flow: flow, from: from, to: to, route: route, bytes: bytes, label: label,
                               phase: phase, sent: sent, delivered: delivered, dependsOn: dependsOn))
        }

        public static func memory(id: Int, host: HostID, at: SimInstant, bytesInUse: Int64, label: String) -> Record {
            .memory(Memory(id: id, host: host, at: at, bytesInUse: bytesInUse, label: label))
        }

        public static func mark(id: Int, host: HostID, at: SimInstant, label: String) -> Record {
            .mark(Mark(id: id, host: host, at: at, label: label))
        }
    }

    public var hosts: [HostInfo]
    public var links: [LinkID]
    public var records: [Record]

    public init(hosts: [HostInfo] = [], links: [LinkID] = [], records: [Record] = []) {
        self.hosts = hosts
        self.links = links
        self.records = records
    }
}
