/// The built-in device and link profiles. `profiles/devices/*.yaml` and `profiles/links/*.yaml`
/// hold the same values in editable form (a test checks they are equal).
extension ProfileCatalog {
    /// Source note shared by the GPU efficiency blocks.
    static let gpuEfficiencyNote =
        "fitted by Calibration.fit to profiles/calibration/h100-llama8b-layer.json (H100 SXM, PyTorch bf16) "
        + "on the h100-sxm spec peaks; other GPUs assume the same fractions of their own spec peaks"
    /// Fitted per-kernel overhead (seconds) of the H100 calibration; see ``EfficiencyParameters/calibratedH100``.
    /// About 6.7 µs: the file's one-token layer (10 kernels streaming 436 MB of weights) takes 213 µs
    /// where the weights alone stream in 150 µs at the measured copy bandwidth; the layers were timed
    /// as whole eager PyTorch calls, so the gap between small kernels is in the data.
    public static let calibratedKernelOverhead = 6.651845076618197e-06
    static let gpuOverheadNote =
        "fitted with the efficiencies to the H100 calibration file: the gap per kernel of eager PyTorch "
        + "(visible in the one-token layer, which the weight streaming alone does not explain)"

    /// The shapes of `profiles/calibration/h100-llama8b-layer.json` (a test derives them from the file).
    public static let calibratedH100Range = CalibratedRange(
        source: "profiles/calibration/h100-llama8b-layer.json", linearTokens: 1...32768, attentionKeys: 2048...65536,
        decodeKeys: 32768...32768, hidden: 4096...4096)

    /// `a100-80gb`, `h100-sxm`, `h200`, `cpu-local`.
    public static let builtInDevices: [DeviceSpec] = [
        DeviceSpec(
            name: "a100-80gb", summary: "NVIDIA A100 SXM4 80GB",
            flopsPerSecond: Labelled(312e12, .spec("A100 datasheet: 312 TFLOP/s dense BF16 tensor core (624 with sparsity)")),
            memoryBandwidthBytesPerSecond: Labelled(2.039e12, .spec("A100 80GB SXM datasheet: 2,039 GB/s HBM2e")),
            memoryCapacityBytes: Labelled(80_000_000_000, .spec("A100 datasheet: 80 GB HBM2e (taken as 80e9 bytes; usable is somewhat less)")),
            kernelOverheadSeconds: Labelled(calibratedKernelOverhead, .assumed("same as the H100 calibrated value")),
            computeUnits: Labelled(108, .spec("A100 whitepaper: 108 SMs")), tiling: .cuda,
            efficiency: .calibratedH100, efficiencySource: .assumed(gpuEfficiencyNote)),
        DeviceSpec(
            name: "h100-sxm", summary: "NVIDIA H100 SXM5 80GB HBM3",
            flopsPerSecond: Labelled(989e12, .spec("H100 SXM datasheet: 989 TFLOP/s dense BF16 (1,979 with sparsity); measured 767 TFLOP/s on an 8192³ GEMM (calibration file)")),
            memoryBandwidthBytesPerSecond: Labelled(3.35e12, .spec("H100 SXM datasheet: 3.35 TB/s HBM3; measured copy 2.99 TB/s (calibration file)")),
            memoryCapacityBytes: Labelled(80_000_000_000, .spec("H100 SXM datasheet: 80 GB (taken as 80e9 bytes)")),
            kernelOverheadSeconds: Labelled(calibratedKernelOverhead, .calibrated(gpuOverheadNote)),
            computeUnits: Labelled(132, .spec("H100 SXM5 datasheet: 132 SMs")), tiling: .cuda,
            efficiency: .calibratedH100, efficiencySource: .calibrated(gpuEfficiencyNote)).withCalibratedRange(calibratedH100Range),
        DeviceSpec(
            name: "h200", summary: "NVIDIA H200 SXM 141GB HBM3e",
            flopsPerSecond: Labelled(989e12, .spec("H200 datasheet: 989 TFLOP/s dense BF16 (same compute as H100 SXM)")),
            memoryBandwidthBytesPerSecond: Labelled(4.8e12, .spec("H200 datasheet: 4.8 TB/s HBM3e")),
            memoryCapacityBytes: Labelled(141_000_000_000, .spec("H200 datasheet: 141 GB (taken as 141e9 bytes)")),
            kernelOverheadSeconds: Labelled(calibratedKernelOverhead, .assumed("same as the H100 calibrated value")),
            computeUnits: Labelled(132, .spec("H200 datasheet: the H100 SXM5 GPU, 132 SMs")), tiling: .cuda,
            efficiency: .calibratedH100, efficiencySource: .assumed(gpuEfficiencyNote)),
        DeviceSpec(
            name: "cpu-local", summary: "this machine: 2 vCPUs (AMD Zen 3, AVX2), OpenBLAS f32",
            flopsPerSecond: Labelled(180e9, .measured("PLATFORM.md: 2-thread cblas_sgemm 175-185 GFLOP/s (f32)")),
            memoryBandwidthBytesPerSecond: Labelled(
                30e9,
                .measured("derived: llama.cpp F32 decode 57 tokens/s x 538 MB of weights = 30.7 GB/s (PLATFORM.md), a lower bound; a memcpy under the shared build load measured only 1.2-1.5 GB/s")),
            memoryCapacityBytes: Labelled(25_276_510_208, .measured("/proc/meminfo MemTotal 24,684,092 kB (~23.5 GiB; the brief says 24 GiB)")),
            kernelOverheadSeconds: Labelled(2e-6, .assumed("call + BLAS dispatch per kernel")),
            computeUnits: Labelled(2, .assumed("the 2 BLAS threads this profile's peak was measured with")), tiling: .untiled,
            efficiency: .assumedCPU, efficiencySource: .assumed("CPU efficiencies are assumptions; calibrate with a measurement file of your own")),
    ]

    /// NVLink/PCIe (intra-host) and InfiniBand/Ethernet (inter-host) links. Bandwidth per direction.
    public static let builtInLinks: [LinkSpec] = [
        link("nvlink-a100", "NVLink 3 between A100s (NVSwitch)", 300e9,
             .spec("A100 datasheet: 600 GB/s bidirectional NVLink = 300 GB/s per direction"), 2e-6),
        link("nvlink-h100", "NVLink 4 between H100s (NVSwitch)", 450e9,
             .spec("H100 datasheet: 900 GB/s bidirectional NVLink = 450 GB/s per direction"), 2e-6),
        link("pcie4", "PCIe 4.0 x16", 32e9, .spec("PCIe 4.0 x16: 16 GT/s x 16 lanes ~ 32 GB/s per direction (before protocol overhead)"), 5e-6),
        link("pcie5", "PCIe 5.0 x16", 64e9, .spec("PCIe 5.0 x16: 32 GT/s x 16 lanes ~ 64 GB/s per direction (before protocol overhead)"), 5e-6),
        link("ib-hdr", "InfiniBand HDR 200 Gb/s, one NIC", 25e9, .spec("HDR: 200 Gb/s = 25 GB/s per direction"), 5e-6),
        link("ib-ndr", "InfiniBand NDR 400 Gb/s, one NIC", 50e9, .spec("NDR: 400 Gb/s = 50 GB/s per direction"), 5e-6),
        link("ethernet-100g", "100 Gigabit Ethernet", 12.5e9, .spec("100 Gb/s = 12.5 GB/s per direction"), 10e-6),
        link("ethernet-25g", "25 Gigabit Ethernet", 3.125e9, .spec("25 Gb/s = 3.125 GB/s per direction"), 10e-6),
    ]

    private static func link(_ name: String, _ summary: String, _ bw: Double, _ source: Provenance, _ latency: Double) -> LinkSpec {
        LinkSpec(
            name: name, summary: summary, bandwidthBytesPerSecond: Labelled(bw, source),
            latencySeconds: Labelled(latency, .assumed("public simulators use 1-10 µs per hop; no measurement here")))
    }
}
