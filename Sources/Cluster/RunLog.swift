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
        /// A compute step on `host` from `start` to `end`. `dependsOn` are the records whose completion
        /// allowed it to start (the event that triggered it, and the host's previous compute if it queued).
        case compute(id: Int, host: HostID, label: String, phase: String,
                     start: SimInstant, end: SimInstant, dependsOn: [Int])
        /// A message from `from` to `to` over `route`, handed to the network at `sent` and delivered at
        /// `delivered`. `dependsOn` is the record whose completion made the sender send it.
        case transfer(id: Int, flow: FlowID, from: HostID, to: HostID, route: [LinkID], bytes: Int,
                      label: String, phase: String, sent: SimInstant, delivered: SimInstant, dependsOn: [Int])
        /// Memory in use on `host` changed to `bytesInUse` at `at`.
        case memory(id: Int, host: HostID, at: SimInstant, bytesInUse: Int64, label: String)
        /// A point event: a host finishing, an out-of-memory, a failure.
        case mark(id: Int, host: HostID, at: SimInstant, label: String)
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
