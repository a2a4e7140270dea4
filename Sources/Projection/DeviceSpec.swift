import ClusterSpec

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
    /// Units that run kernel blocks side by side (SMs of a GPU, cores of a CPU).
    public var computeUnits: Labelled<Int>
    /// How the device's kernels cut work into blocks (a preset: `cuda` or `untiled`).
    public var tiling: KernelTiling
    /// Fractions of peak reached by each kind of work.
    public var efficiency: EfficiencyParameters
    /// Where ``efficiency`` comes from.
    public var efficiencySource: Provenance
    /// Ring Attention steps (software, like ``kernelOverheadSeconds``): the fraction of the local
    /// attention efficiency a ring step's attention reaches, in (0, 1] (1 = the same flash kernel as
    /// local attention), and whether a step's K,V exchange overlaps its attention
    /// (ring-flash-attention posts the send/receive before the step's attention and waits after it)
    /// or blocks the host after it (a naive ring: step time = attention + transfer). See
    /// ``RingStepParameters`` and `Docs/Projection.md`.
    public var ringAttentionEfficiency: Labelled<Double>
    public var ringOverlapsTransfer: Labelled<Bool>
    /// The software stack's own costs (``Framework``): `fused` unless the profile says otherwise.
    public var framework: Labelled<Framework> = DeviceSpec.fusedFramework
    /// The shapes ``efficiency`` was measured on (nil: not measured on this device). Projections
    /// outside them say so (``Coverage``).
    public var calibratedRange: CalibratedRange?

    /// Defaults of the ring fields: ideal overlapped ring steps at local-attention efficiency.
    public static let idealRingEfficiency = Labelled(
        1.0, .assumed("ring steps run the same flash-attention kernel as local attention; the causal imbalance of the contiguous ring is modeled by the engine, not here"))
    /// Default of ``framework``.
    public static let fusedFramework = Labelled(
        Framework.fused, .assumed("a serving engine: fused partial merges, the sampled row's logits only, a preallocated KV cache"))
    public static let overlappedRing = Labelled(
        true, .published("ring-flash-attention (and the paper's reference code) post the K,V send/receive before a step's attention and wait after it"))

    public init(
        name: String, summary: String, flopsPerSecond: Labelled<Double>, memoryBandwidthBytesPerSecond: Labelled<Double>,
        memoryCapacityBytes: Labelled<Int64>, kernelOverheadSeconds: Labelled<Double>,
        computeUnits: Labelled<Int>, tiling: KernelTiling,
        efficiency: EfficiencyParameters, efficiencySource: Provenance,
        ringAttentionEfficiency: Labelled<Double> = DeviceSpec.idealRingEfficiency,
        ringOverlapsTransfer: Labelled<Bool> = DeviceSpec.overlappedRing
    ) {
        self.name = name
        self.summary = summary
        self.flopsPerSecond = flopsPerSecond
        self.memoryBandwidthBytesPerSecond = memoryBandwidthBytesPerSecond
        self.memoryCapacityBytes = memoryCapacityBytes
        self.kernelOverheadSeconds = kernelOverheadSeconds
        self.computeUnits = computeUnits
        self.tiling = tiling
        self.efficiency = efficiency
        self.efficiencySource = efficiencySource
        self.ringAttentionEfficiency = ringAttentionEfficiency
        self.ringOverlapsTransfer = ringOverlapsTransfer
    }

    /// The ring-step parameters for ``CostModel``.
    public var ringSteps: RingStepParameters {
        RingStepParameters(attentionEfficiency: ringAttentionEfficiency.value, overlapsTransfer: ringOverlapsTransfer.value)
    }

    /// The plain profile for `Cluster`.
    public var profile: DeviceProfile {
        DeviceProfile(
            name: name, flopsPerSecond: flopsPerSecond.value,
            memoryBandwidthBytesPerSecond: memoryBandwidthBytesPerSecond.value,
            memoryCapacityBytes: memoryCapacityBytes.value, kernelOverheadSeconds: kernelOverheadSeconds.value,
            computeUnits: computeUnits.value, tiling: tiling)
    }

    public var description: String {
        """
        \(name) (\(summary))
          peak \(flopsPerSecond.value / 1e12) TFLOP/s [\(flopsPerSecond.source)]
          bandwidth \(memoryBandwidthBytesPerSecond.value / 1e12) TB/s [\(memoryBandwidthBytesPerSecond.source)]
          capacity \(Double(memoryCapacityBytes.value) / 1e9) GB [\(memoryCapacityBytes.source)]
          kernel overhead \(kernelOverheadSeconds.value * 1e6) µs [\(kernelOverheadSeconds.source)]
          compute units \(computeUnits.value) [\(computeUnits.source)], kernel tiling \(tiling.name)
          efficiency \(efficiency) [\(efficiencySource)]
          ring attention efficiency \(ringAttentionEfficiency.value) [\(ringAttentionEfficiency.source)]
          ring overlaps transfer \(ringOverlapsTransfer.value) [\(ringOverlapsTransfer.source)]
          framework \(framework.value.rawValue) [\(framework.source)]
          calibrated range \(calibratedRange.map(CalibratedRange.describe) ?? "none (efficiencies not measured on this device)")
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
    /// Software cost of one message (one collective step) on this link, seconds: the framework's
    /// Python / `torch.distributed` / NCCL launch and synchronisation per send–receive, on top of the
    /// wire latency. 0 for the bare links; set in a copied profile for a framework.
    public var messageOverheadSeconds: Labelled<Double>

    /// Default of ``messageOverheadSeconds``: no software overhead.
    public static let noMessageOverhead = Labelled(
        0.0, .assumed("bare link: no framework (Python / torch.distributed) cost per message; set it in a copied profile"))

    public init(name: String, summary: String, bandwidthBytesPerSecond: Labelled<Double>, latencySeconds: Labelled<Double>,
                messageOverheadSeconds: Labelled<Double> = LinkSpec.noMessageOverhead) {
        self.name = name
        self.summary = summary
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.latencySeconds = latencySeconds
        self.messageOverheadSeconds = messageOverheadSeconds
    }

    /// The plain profile for `Cluster`: the engine charges every message `latency + messageOverhead`
    /// (rounded up to a whole nanosecond) before its bytes flow, so the overhead delays delivery
    /// exactly like latency does.
    public var profile: LinkProfile {
        LinkProfile(name: name, bandwidthBytesPerSecond: bandwidthBytesPerSecond.value,
                    latency: .seconds(latencySeconds.value + messageOverheadSeconds.value))
    }

    public var description: String {
        "\(name) (\(summary)): \(bandwidthBytesPerSecond.value / 1e9) GB/s [\(bandwidthBytesPerSecond.source)], "
            + "latency \(latencySeconds.value * 1e6) µs [\(latencySeconds.source)], "
            + "message overhead \(messageOverheadSeconds.value * 1e6) µs [\(messageOverheadSeconds.source)]"
    }
}
