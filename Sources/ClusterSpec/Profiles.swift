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
    /// Units that run kernel tiles side by side (streaming multiprocessors of a GPU, cores of a CPU), ≥ 1.
    /// A kernel of fewer tiles than units leaves units idle (see `KernelTiling`).
    public var computeUnits: Int
    /// How this device's kernels cut work into tiles.
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

/// The tile shapes a device's kernels use; the cost model charges whole tiles (padding), whole waves
/// of tiles over the device's compute units, and the longest tile (see `Docs/Projection.md`).
/// Values are the kernels' published configurations, not fitted.
public struct KernelTiling: Sendable, Hashable, Codable {
    /// Preset name, as written in device profiles (`kernel_tiling:`).
    public var name: String
    /// Output columns per GEMM tile.
    public var gemmTileColumns: Int
    /// Token rows per GEMM tile when the GEMM has more than `gemmSmallTileRows` rows.
    public var gemmTileRows: Int
    /// Token rows per GEMM tile for GEMMs of at most this many rows.
    public var gemmSmallTileRows: Int
    /// GEMMs of at most this many token rows run a GEMV-like (split-K) kernel that keeps every unit
    /// streaming weights (0: never).
    public var gemvMaxRows: Int
    /// Query rows per attention tile (prefill / many queries).
    public var attentionTileRows: Int
    /// Query rows per tile of the one-query decode kernel (split-KV).
    public var decodeTileRows: Int
    /// Keys per tile; a decode kernel splits the keys into at most `keys / keyTile` parts.
    public var keyTile: Int

    public init(name: String, gemmTileColumns: Int, gemmTileRows: Int, gemmSmallTileRows: Int, gemvMaxRows: Int,
                attentionTileRows: Int, decodeTileRows: Int, keyTile: Int) {
        self.name = name
        self.gemmTileColumns = gemmTileColumns
        self.gemmTileRows = gemmTileRows
        self.gemmSmallTileRows = gemmSmallTileRows
        self.gemvMaxRows = gemvMaxRows
        self.attentionTileRows = attentionTileRows
        self.decodeTileRows = decodeTileRows
        self.keyTile = keyTile
    }

    /// CUDA GPUs running cuBLAS GEMMs (128×128 output tiles, 64-row tiles for small token counts,
    /// GEMV-like kernels up to 8 rows) and FlashAttention-2 (128-row query tiles for head dim 128;
    /// a 64-row split-KV kernel for one-query decode, which folds a GQA group's query heads into rows).
    public static let cuda = KernelTiling(
        name: "cuda", gemmTileColumns: 128, gemmTileRows: 128, gemmSmallTileRows: 64, gemvMaxRows: 8,
        attentionTileRows: 128, decodeTileRows: 64, keyTile: 128)

    /// No tiling: work divides evenly over the units (BLAS on a CPU; a device without a tile model).
    public static let untiled = KernelTiling(
        name: "untiled", gemmTileColumns: 1, gemmTileRows: 1, gemmSmallTileRows: 1, gemvMaxRows: 0,
        attentionTileRows: 1, decodeTileRows: 1, keyTile: 1)
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
