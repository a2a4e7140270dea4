/// How close to a device's peak each kind of work runs: the fitted part of the cost model.
///
/// All efficiencies are fractions of the device profile's *spec* peak (`flopsPerSecond`,
/// `memoryBandwidthBytesPerSecond`). See `Docs/Projection.md` for the equations:
/// - GEMM of `m` token rows: `eff = gemmMax · (m / (m + gemmHalfRows))^gemmRowsExponent`; tensor-parallel shards of
///   `n` output columns also get `c(n/G) / c(n)` with `c(x) = x / (x + gemmHalfColumns)`.
/// - Streaming work (weights, norms, residuals, copies): achieved bandwidth `memory · bandwidth`.
/// - Attention of `q` queries: `eff = attentionMax · (q / (q + attentionHalfQueries))^attentionQueryExponent`,
///   times `k̄ / (k̄ + causalHalfKeys)` when the causal mask hides part of the keys
///   (`k̄` = visible keys per query); K/V reads at `attentionMemory · bandwidth`.
public struct EfficiencyParameters: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Fraction of peak FLOP/s a large GEMM reaches, (0, 1].
    public var gemmMax: Double
    /// Token rows at which a GEMM reaches `2^-gemmRowsExponent` of `gemmMax`, ≥ 0.
    public var gemmHalfRows: Double
    /// Exponent of the GEMM row saturation, (0, 4]: larger = sharper knee.
    public var gemmRowsExponent: Double
    /// Output columns at which a GEMM reaches half efficiency; only used for the tensor-parallel
    /// penalty of narrower shards (not calibrated: the calibration set has no varying widths).
    public var gemmHalfColumns: Double
    /// Fraction of memory bandwidth reached by streaming ops (copy, elementwise, weight reads), (0, 1].
    public var memory: Double
    /// Fraction of peak FLOP/s of attention with many queries and a full (unmasked) key range, (0, 1].
    public var attentionMax: Double
    /// Query count at which attention reaches `2^-exponent` of `attentionMax`, ≥ 0.
    public var attentionHalfQueries: Double
    /// Exponent of the query-count saturation, (0, 2].
    public var attentionQueryExponent: Double
    /// Mean visible keys per query at which causal (partly masked) attention runs at half speed, ≥ 0.
    public var causalHalfKeys: Double
    /// Fraction of memory bandwidth reached when attention streams K/V (decode), (0, 1].
    public var attentionMemory: Double

    public init(
        gemmMax: Double, gemmHalfRows: Double, gemmRowsExponent: Double, gemmHalfColumns: Double, memory: Double, attentionMax: Double,
        attentionHalfQueries: Double, attentionQueryExponent: Double, causalHalfKeys: Double, attentionMemory: Double
    ) {
        self.gemmMax = gemmMax
        self.gemmHalfRows = gemmHalfRows
        self.gemmRowsExponent = gemmRowsExponent
        self.gemmHalfColumns = gemmHalfColumns
        self.memory = memory
        self.attentionMax = attentionMax
        self.attentionHalfQueries = attentionHalfQueries
        self.attentionQueryExponent = attentionQueryExponent
        self.causalHalfKeys = causalHalfKeys
        self.attentionMemory = attentionMemory
    }

    /// Every field with its YAML key, value and valid range (used by the YAML reader, the writer
    /// and the calibration's bounds).
    static var fields: [(key: String, path: WritableKeyPath<EfficiencyParameters, Double>, range: ClosedRange<Double>)] {
        [
        ("gemm_max", \.gemmMax, 0.01...1),
        ("gemm_half_rows", \.gemmHalfRows, 0...1e6),
        ("gemm_rows_exponent", \.gemmRowsExponent, 0.05...4),
        ("gemm_half_columns", \.gemmHalfColumns, 0...1e6),
        ("memory", \.memory, 0.01...1),
        ("attention_max", \.attentionMax, 0.01...1),
        ("attention_half_queries", \.attentionHalfQueries, 0...1e7),
        ("attention_query_exponent", \.attentionQueryExponent, 0.05...2),
        ("causal_half_keys", \.causalHalfKeys, 0...1e7),
        ("attention_memory", \.attentionMemory, 0.01...1),
        ]
    }

    /// Fitted to `profiles/calibration/h100-llama8b-layer.json` by ``Calibration/fit(file:device:)``
    /// on the `h100-sxm` spec profile (a test refits and compares). Used for every GPU profile: the
    /// documented assumption is that A100 and H200 reach the same fractions of *their own* spec peaks.
    /// `gemmHalfColumns` is assumed (128), not fitted.
    public static let calibratedH100 = EfficiencyParameters(
        gemmMax: 0.7130489077570082, gemmHalfRows: 396.80805392250346, gemmRowsExponent: 0.9765975001110274,
        gemmHalfColumns: 128, memory: 0.8819805920583713, attentionMax: 0.6907046226766747,
        attentionHalfQueries: 1688.5286675710483, attentionQueryExponent: 0.6047707305761398,
        causalHalfKeys: 868.3331948691524, attentionMemory: 0.8819805920583713)

    /// Assumed for the local CPU profile (its peak is already a measured 2-thread sgemm rate, so
    /// `gemmMax` is 1; the rest are assumptions, not measurements).
    public static let assumedCPU = EfficiencyParameters(
        gemmMax: 1.0, gemmHalfRows: 32, gemmRowsExponent: 1, gemmHalfColumns: 32, memory: 1.0, attentionMax: 0.5,
        attentionHalfQueries: 16, attentionQueryExponent: 1.0, causalHalfKeys: 64, attentionMemory: 1.0)

    public var description: String {
        Self.fields.map { "\($0.key)=\(self[keyPath: $0.path])" }.joined(separator: ", ")
    }
}
