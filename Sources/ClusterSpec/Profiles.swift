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
    /// Units that run kernel blocks side by side (streaming multiprocessors of a GPU, cores of a CPU), ≥ 1.
    /// A kernel of fewer blocks than units leaves units idle (see `KernelTiling`).
    public var computeUnits: Int
    /// How this device's kernels cut work into blocks.
    public var tiling: KernelTiling

    public init(name: String, flopsPerSecond: Double, memoryBandwidthBytesPerSecond: Double,
                memoryCapacityBytes: Int64, kernelOverheadSeconds: Double = 0, computeUnits: Int = 1,
                tiling: KernelTiling = .untiled) {
        self.name = name
        self.flopsPerSecond = flopsPerSecond
        self.memoryBandwidthBytesPerSecond = memoryBandwidthBytesPerSecond
        self.memoryCapacityBytes = memoryCapacityBytes
        self.kernelOverheadSeconds = kernelOverheadSeconds
        self.computeUnits = computeUnits
        self.tiling = tiling
    }
}

/// The block shapes a device's kernels use; the cost model charges whole blocks (padding), whole waves
/// of blocks over the device's compute units, and the longest block (see `Docs/Projection.md`).
/// Values are the kernels' published configurations, not fitted.
public struct KernelTiling: Sendable, Hashable, Codable {
    /// Preset name, as written in device profiles (`kernel_tiling:`).
    public var name: String
    /// Output columns per GEMM block.
    public var gemmBlockColumns: Int
    /// Token rows per GEMM block when the GEMM has more than `gemmSmallBlockRows` rows.
    public var gemmBlockRows: Int
    /// Token rows per GEMM block for GEMMs of at most this many rows.
    public var gemmSmallBlockRows: Int
    /// GEMMs of at most this many token rows run a GEMV-like (split-K) kernel that keeps every unit
    /// streaming weights (0: never).
    public var gemvMaxRows: Int
    /// Query rows per attention block (prefill / many queries).
    public var attentionBlockRows: Int
    /// Query rows per block of the one-query decode kernel (split-KV).
    public var decodeBlockRows: Int
    /// Keys per block; a decode kernel splits the keys into at most `keys / keyBlock` parts.
    public var keyBlock: Int

    public init(name: String, gemmBlockColumns: Int, gemmBlockRows: Int, gemmSmallBlockRows: Int, gemvMaxRows: Int,
                attentionBlockRows: Int, decodeBlockRows: Int, keyBlock: Int) {
        self.name = name
        self.gemmBlockColumns = gemmBlockColumns
        self.gemmBlockRows = gemmBlockRows
        self.gemmSmallBlockRows = gemmSmallBlockRows
        self.gemvMaxRows = gemvMaxRows
        self.attentionBlockRows = attentionBlockRows
        self.decodeBlockRows = decodeBlockRows
        self.keyBlock = keyBlock
    }

    /// CUDA GPUs running cuBLAS GEMMs (128×128 output blocks, 64-row blocks for small token counts,
    /// GEMV-like kernels up to 8 rows) and FlashAttention-2 (128-row query blocks for head dim 128;
    /// a 64-row split-KV kernel for one-query decode, which folds a GQA group's query heads into rows).
    public static let cuda = KernelTiling(
        name: "cuda", gemmBlockColumns: 128, gemmBlockRows: 128, gemmSmallBlockRows: 64, gemvMaxRows: 8,
        attentionBlockRows: 128, decodeBlockRows: 64, keyBlock: 128)

    /// No blocking: work divides evenly over the units (BLAS on a CPU; a device without a tile model).
    public static let untiled = KernelTiling(
        name: "untiled", gemmBlockColumns: 1, gemmBlockRows: 1, gemmSmallBlockRows: 1, gemvMaxRows: 0,
        attentionBlockRows: 1, decodeBlockRows: 1, keyBlock: 1)
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
