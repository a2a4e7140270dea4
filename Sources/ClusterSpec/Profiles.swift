/// What one device class can do. Values are per GPU (or per CPU socket for the local CPU profile);
/// a host has `gpusPerHost` of them.
public struct DeviceProfile: Sendable, Hashable, Codable {
    public var name: String
    /// Dense matrix-multiply peak, FLOP/s (bf16 for GPUs, f32 for the CPU profile).
    public var flopsPerSecond: Double
    /// Memory bandwidth, bytes/s.
    public var memoryBandwidthBytesPerSecond: Double
    /// Memory capacity, bytes.
    public var memoryCapacityBytes: Int64
    /// Fixed launch overhead charged per kernel, seconds.
    public var kernelOverheadSeconds: Double

    public init(name: String, flopsPerSecond: Double, memoryBandwidthBytesPerSecond: Double,
                memoryCapacityBytes: Int64, kernelOverheadSeconds: Double = 0) {
        self.name = name
        self.flopsPerSecond = flopsPerSecond
        self.memoryBandwidthBytesPerSecond = memoryBandwidthBytesPerSecond
        self.memoryCapacityBytes = memoryCapacityBytes
        self.kernelOverheadSeconds = kernelOverheadSeconds
    }
}

/// A link class: time for a lone message of `b` bytes is `latency + b / bandwidth`.
public struct LinkProfile: Sendable, Hashable, Codable {
    public var name: String
    /// Bytes per second, per direction.
    public var bandwidthBytesPerSecond: Double
    public var latency: SimDuration

    public init(name: String, bandwidthBytesPerSecond: Double, latency: SimDuration) {
        self.name = name
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.latency = latency
    }
}

/// How the hosts are wired.
public enum TopologyShape: String, Sendable, Hashable, Codable, CaseIterable {
    /// A direct link for every ordered pair of hosts.
    case fullyConnected = "fully-connected"
    /// Links only from host i to host (i+1) mod H and back; other traffic is forwarded hop by hop.
    case ring
}

/// A cluster as a user describes it (from a scenario file); `Topology` is its validated form.
public struct TopologyDescription: Sendable, Hashable, Codable {
    public var hosts: Int
    public var gpusPerHost: Int
    public var device: DeviceProfile
    /// Between the GPUs of one host (NVLink-class).
    public var intraHostLink: LinkProfile
    /// Between hosts (InfiniBand / Ethernet-class).
    public var interHostLink: LinkProfile
    public var shape: TopologyShape

    public init(hosts: Int, gpusPerHost: Int = 1, device: DeviceProfile, intraHostLink: LinkProfile,
                interHostLink: LinkProfile, shape: TopologyShape = .fullyConnected) {
        self.hosts = hosts
        self.gpusPerHost = gpusPerHost
        self.device = device
        self.intraHostLink = intraHostLink
        self.interHostLink = interHostLink
        self.shape = shape
    }
}
