import Cluster

/// A shell whose behaviour is given by closures, for scenario tests.
final class ScriptShell: HostShell {
    typealias Payload = Int
    var onStart: (isolated SimHost<Int>) -> Void
    var onReceived: (Message<Int>, isolated SimHost<Int>) -> Void
    var onComputed: (ComputeToken, isolated SimHost<Int>) -> Void

    init(start: @escaping (isolated SimHost<Int>) -> Void = { $0.finish() },
         received: @escaping (Message<Int>, isolated SimHost<Int>) -> Void = { _, _ in },
         computed: @escaping (ComputeToken, isolated SimHost<Int>) -> Void = { _, _ in }) {
        onStart = start
        onReceived = received
        onComputed = computed
    }

    func start(_ host: isolated SimHost<Int>) { onStart(host) }
    func received(_ message: Message<Int>, _ host: isolated SimHost<Int>) { onReceived(message, host) }
    func computed(_ token: ComputeToken, _ host: isolated SimHost<Int>) { onComputed(token, host) }
}

enum Fixtures {
    /// 1 GB/s, 10 µs links unless told otherwise; 16 GiB devices.
    static func topology(hosts: Int, shape: TopologyShape = .fullyConnected, bandwidth: Double = 1e9,
                         latency: SimDuration = .microseconds(10), memory: Int64 = 16 << 30,
                         gpusPerHost: Int = 1) throws -> Topology {
        let device = DeviceProfile(name: "test-gpu", flopsPerSecond: 1e12, memoryBandwidthBytesPerSecond: 1e12,
                                   memoryCapacityBytes: memory)
        let link = LinkProfile(name: "test-link", bandwidthBytesPerSecond: bandwidth, latency: latency)
        let intra = LinkProfile(name: "test-intra", bandwidthBytesPerSecond: bandwidth * 10, latency: .zero)
        return try Topology(TopologyDescription(hosts: hosts, gpusPerHost: gpusPerHost, device: device,
                                                intraHostLink: intra, interHostLink: link, shape: shape))
    }

    /// A byte-exact serialized form of a log (records are plain values with deterministic descriptions).
    static func serialize(_ log: RunLog) -> String {
        var s = "hosts: \(log.hosts.map(\.name))\nlinks: \(log.links)\n"
        for r in log.records { s += "\(r)\n" }
        return s
    }

    /// Delivery time of the transfer record with `label`.
    static func delivered(_ log: RunLog, label wanted: String) -> [SimInstant] {
        log.records.compactMap {
            if case .transfer(let message) = $0, message.label == wanted { return message.delivered }
            return nil
        }
    }
}

import Synchronization

/// A value shared between a test and the shells it runs (the shells' closures are isolated to
/// their host actor, so plain captured `var`s would be sent across isolation domains).
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value { storage.withLock { $0 } }
    func update<R>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
    func set(_ value: Value) { storage.withLock { $0 = value } }
}
