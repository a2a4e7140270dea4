/// How close to a device's peak each kind of work runs: the fitted part of the cost model.
///
/// All efficiencies are fractions of the device profile's *spec* peak (`flopsPerSecond`,
/// `memoryBandwidthBytesPerSecond`); the mechanisms around them (tiles, waves over compute units,
/// GQA, split-KV decode) come from the device's `KernelTiling`, not from these numbers. See
/// `Docs/Projection.md` for the equations:
/// - GEMM: whole tiles of `KernelTiling` in whole waves over the compute units at `gemmMax` of peak;
///   weights and activations streamed at `memory · bandwidth`, slower when fewer tiles than
///   `saturatingUnitsFraction · units` stream them.
/// - Streaming work (norms, residuals, copies, merges): `memory · bandwidth`.
/// - Attention: tiles of query rows × all their visible keys at `attentionMax` of peak (times
///   `k̄ / (k̄ + causalHalfKeys)` when a causal mask hides part of the keys, `k̄` = visible keys per
///   query); K/V read once per KV head at `attentionMemory · bandwidth`.
public struct EfficiencyParameters: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Fraction of peak FLOP/s a GEMM tile runs at when compute-bound, (0, 1].
    public var gemmMax: Double
    /// Fraction of memory bandwidth reached by streaming ops (copy, elementwise, weight reads), (0, 1].
    public var memory: Double
    /// Fraction of the compute units whose tiles must stream weights at once for a memory-bound GEMM
    /// to reach `memory` of the bandwidth, (0, 1]; a GEMM of fewer tiles streams proportionally slower.
    public var saturatingUnitsFraction: Double
    /// Fraction of peak FLOP/s an attention tile runs at with a full (unmasked) key range, (0, 1].
    public var attentionMax: Double
    /// Mean visible keys per query at which causal (partly masked) attention runs at half speed, ≥ 0.
    public var causalHalfKeys: Double
    /// Fraction of memory bandwidth reached when attention streams K/V (decode), (0, 1].
    public var attentionMemory: Double

    public init(
        gemmMax: Double, memory: Double, saturatingUnitsFraction: Double, attentionMax: Double, causalHalfKeys: Double,
        attentionMemory: Double
    ) {
        self.gemmMax = gemmMax
        self.memory = memory
        self.saturatingUnitsFraction = saturatingUnitsFraction
        self.attentionMax = attentionMax
        self.causalHalfKeys = causalHalfKeys
        self.attentionMemory = attentionMemory
    }

    /// Every field with its YAML key, value and valid range (used by the YAML reader, the writer
    /// and the calibration's bounds).
    public static var fields: [(key: String, path: WritableKeyPath<EfficiencyParameters, Double>, range: ClosedRange<Double>)] {
        [
        ("gemm_max", \.gemmMax, 0.01...1),
        ("memory", \.memory, 0.01...1),
        ("saturating_units_fraction", \.saturatingUnitsFraction, 0.01...1),
        ("attention_max", \.attentionMax, 0.01...1),
        ("causal_half_keys", \.causalHalfKeys, 0...1e7),
        ("attention_memory", \.attentionMemory, 0.01...1),
        ]
    }

    /// Fitted to `profiles/calibration/h100-llama8b-layer.json` by ``Calibration/fit(file:device:)``
    /// on the `h100-sxm` spec profile (a test refits and compares). Used for every GPU profile: the
    /// documented assumption is that A100 and H200 reach the same fractions of *their own* spec peaks.
    public static let calibratedH100 = EfficiencyParameters(
        gemmMax: 0.6918314954390921, memory: 0.8858698618933234, saturatingUnitsFraction: 0.49726086493647526,
        attentionMax: 0.6711987068986229, causalHalfKeys: 1379.4542754091126, attentionMemory: 0.7232788028570832)

    /// Assumed for the local CPU profile (its peak is already a measured 2-thread sgemm rate, so
    /// `gemmMax` is 1; the rest are assumptions, not measurements).
    public static let assumedCPU = EfficiencyParameters(
        gemmMax: 1.0, memory: 1.0, saturatingUnitsFraction: 0.5, attentionMax: 0.5, causalHalfKeys: 64, attentionMemory: 1.0)

    public var description: String {
        Self.fields.map { "\($0.key)=\(self[keyPath: $0.path])" }.joined(separator: ", ")
    }
}
