import Cluster

/// A device profile with the source of every value and the efficiencies the cost model uses on it.
///
/// `profile` is the `Cluster` vocabulary type the simulation consumes; the other fields are the
/// projection's bookkeeping (provenance) and its fitted efficiency parameters.
public struct DeviceSpec: Sendable, Hashable, CustomStringConvertible {
    /// Catalog name, e.g. `h100-sxm`.
    public var name: String
    /// One line for humans.
    public var summary: String
    /// Dense matrix-multiply peak per device, FLOP/s (bf16 for GPUs, f32 for the CPU).
    public var flopsPerSecond: Labelled<Double>
    /// Memory bandwidth per device, bytes/s.
    public var memoryBandwidthBytesPerSecond: Labelled<Double>
    /// Memory capacity per device, bytes.
    public var memoryCapacityBytes: Labelled<Int64>
    /// Fixed cost per kernel launch, seconds.
    public var kernelOverheadSeconds: Labelled<Double>
    /// Fractions of peak reached by each kind of work.
    public var efficiency: EfficiencyParameters
    /// Where ``efficiency`` comes from.
    public var efficiencySource: Provenance

    public init(
        name: String, summary: String, flopsPerSecond: Labelled<Double>, memoryBandwidthBytesPerSecond: Labelled<Double>,
        memoryCapacityBytes: Labelled<Int64>, kernelOverheadSeconds: Labelled<Double>,
        efficiency: EfficiencyParameters, efficiencySource: Provenance
    ) {
        self.name = name
        self.summary = summary
        self.flopsPerSecond = flopsPerSecond
        self.memoryBandwidthBytesPerSecond = memoryBandwidthBytesPerSecond
        self.memoryCapacityBytes = memoryCapacityBytes
        self.kernelOverheadSeconds = kernelOverheadSeconds
        self.efficiency = efficiency
        self.efficiencySource = efficiencySource
    }

    /// The plain profile for `Cluster`.
    public var profile: DeviceProfile {
        DeviceProfile(
            name: name, flopsPerSecond: flopsPerSecond.value,
            memoryBandwidthBytesPerSecond: memoryBandwidthBytesPerSecond.value,
            memoryCapacityBytes: memoryCapacityBytes.value, kernelOverheadSeconds: kernelOverheadSeconds.value)
    }

    public var description: String {
        """
        \(name) (\(summary))
          peak \(flopsPerSecond.value / 1e12) TFLOP/s [\(flopsPerSecond.source)]
          bandwidth \(memoryBandwidthBytesPerSecond.value / 1e12) TB/s [\(memoryBandwidthBytesPerSecond.source)]
          capacity \(Double(memoryCapacityBytes.value) / 1e9) GB [\(memoryCapacityBytes.source)]
          kernel overhead \(kernelOverheadSeconds.value * 1e6) µs [\(kernelOverheadSeconds.source)]
          efficiency \(efficiency) [\(efficiencySource)]
        """
    }
}

/// A link profile with the source of every value.
public struct LinkSpec: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var summary: String
    /// Bytes per second, per direction.
    public var bandwidthBytesPerSecond: Labelled<Double>
    /// One-way latency of a message, seconds.
    public var latencySeconds: Labelled<Double>

    public init(name: String, summary: String, bandwidthBytesPerSecond: Labelled<Double>, latencySeconds: Labelled<Double>) {
        self.name = name
        self.summary = summary
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.latencySeconds = latencySeconds
    }

    /// The plain profile for `Cluster` (latency rounded up to a whole nanosecond).
    public var profile: LinkProfile {
        LinkProfile(name: name, bandwidthBytesPerSecond: bandwidthBytesPerSecond.value, latency: .seconds(latencySeconds.value))
    }

    public var description: String {
        "\(name) (\(summary)): \(bandwidthBytesPerSecond.value / 1e9) GB/s [\(bandwidthBytesPerSecond.source)], "
            + "latency \(latencySeconds.value * 1e6) µs [\(latencySeconds.source)]"
    }
}
