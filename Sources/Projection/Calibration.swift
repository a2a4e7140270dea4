import ConfigFiles
import DistributedAttention
import Foundation

/// One measurement of a calibration file.
public struct CalibrationPoint: Sendable, Hashable, CustomStringConvertible {
    /// The measured kernel or composite, with its shape.
    public enum Kind: Sendable, Hashable {
        /// `[m, k] × [k, n]` GEMM.
        case gemmPeak(m: Int, n: Int, k: Int)
        /// Device-to-device copy moving `bytes` in total (read + write).
        case copy(bytes: Int)
        /// One layer without attention: `layerInputs(storesKV: true)` + `finishLayer` over `tokens`.
        case layerLinear(tokens: Int)
        /// Causal attention of `queries` queries to `keys` keys (`queries ≤ keys`): the queries are the
        /// last `queries` positions, so query `i` sees `keys − queries + i + 1` keys (a square when equal;
        /// a chunk of new tokens over a cache otherwise).
        case attentionCausal(queries: Int, keys: Int)
        /// Every query sees every key.
        case attentionFull(queries: Int, keys: Int)
        /// One whole layer with causal attention over `tokens`.
        case layerPrefillCausal(tokens: Int)
        /// `layers` such layers back to back.
        case modelPrefillCausal(tokens: Int, layers: Int)
    }

    public var kind: Kind
    /// Measured seconds per call.
    public var seconds: Double

    public init(kind: Kind, seconds: Double) {
        self.kind = kind
        self.seconds = seconds
    }

    public var description: String {
        switch kind {
        case .gemmPeak(let m, let n, let k): return "gemm_peak \(m)x\(n)x\(k)"
        case .copy(let b): return "copy_bw \(b) B"
        case .layerLinear(let t): return "layer_linear \(t)"
        case .attentionCausal(let q, let k): return "attn_causal \(q)x\(k)"
        case .attentionFull(let q, let k): return "attn_full \(q)x\(k)"
        case .layerPrefillCausal(let t): return "layer_prefill_causal \(t)"
        case .modelPrefillCausal(let t, let l): return "model_prefill_causal \(t) x\(l) layers"
        }
    }
}

/// Measured vs predicted for one point.
public struct CalibrationRow: Sendable, Hashable {
    public var point: CalibrationPoint
    public var predictedSeconds: Double
    /// `(predicted − measured) / measured`.
    public var relativeError: Double { (predictedSeconds - point.seconds) / point.seconds }
}

/// The outcome of a fit: every point, and summary statistics of |relative error|.
public struct CalibrationReport: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var rows: [CalibrationRow]
    /// Item kinds of the file this model does not map (listed, not used).
    public var ignoredKinds: [String]
    /// Final objective: mean of `(ln predicted − ln measured)²`.
    public var meanSquaredLogError: Double

    public var medianAbsoluteRelativeError: Double {
        let e = rows.map { abs($0.relativeError) }.sorted()
        guard !e.isEmpty else { return 0 }
        return e.count % 2 == 1 ? e[e.count / 2] : (e[e.count / 2 - 1] + e[e.count / 2]) / 2
    }

    public var maxAbsoluteRelativeError: Double { rows.map { abs($0.relativeError) }.max() ?? 0 }

    /// A Markdown table: point, measured, predicted, relative error; then median and max.
    public var description: String {
        var s = "| point | measured (s) | predicted (s) | error |\n|---|---|---|---|\n"
        for r in rows {
            s += String(format: "| %@ | %.4g | %.4g | %+.1f%% |\n", r.point.description, r.point.seconds, r.predictedSeconds, 100 * r.relativeError)
        }
        s += String(format: "\nmedian |error| %.1f%%, max |error| %.1f%%, %d points", 100 * medianAbsoluteRelativeError, 100 * maxAbsoluteRelativeError, rows.count)
        if !ignoredKinds.isEmpty { s += "; ignored kinds: \(ignoredKinds.joined(separator: ", "))" }
        return s
    }
}

/// The fitted parameters, the device with its fitted kernel overhead, and the report.
public struct CalibrationResult: Sendable {
    public var parameters: EfficiencyParameters
    /// Fitted seconds per kernel launch.
    public var kernelOverheadSeconds: Double
    /// The input device with `kernelOverheadSeconds`, `efficiency` and their sources replaced.
    public var device: DeviceSpec
    public var report: CalibrationReport
}

/// Fits ``EfficiencyParameters`` (and the per-kernel overhead) to measured timings.
///
/// Procedure (deterministic): minimise `Σ_i (ln predicted_i − ln measured_i)²` over the 6
/// ``EfficiencyParameters`` and the kernel overhead (7 bounded parameters; the device's peaks, compute
/// units and kernel tiling are not fitted) by cyclic coordinate descent: each sweep runs a
/// golden-section search (60 iterations) on each parameter over its whole bounded interval (log scale
/// for `causalHalfKeys` and the overhead), keeping the new value only if the objective improves;
/// sweeps stop after 100 or when a sweep improves the objective by less than 1e-12. The start point is
/// always ``Calibration/start`` (whatever the device's current efficiency), so the same file gives the
/// same parameters.
public enum Calibration {
    /// The fixed start point of every fit and the start of the kernel overhead, 5 µs.
    public static let start = EfficiencyParameters(
        gemmMax: 0.7, memory: 0.8, saturatingUnitsFraction: 0.5, attentionMax: 0.6, causalHalfKeys: 512, attentionMemory: 0.6)
    public static let startKernelOverheadSeconds = 5e-6

    /// Reads a calibration file in the format of `profiles/calibration/h100-llama8b-layer.json`.
    /// - Returns: the model shape (bf16 unless `dtype` says float32; vocab 128256 — unused by the
    ///   item kinds), the points, and the kinds it ignored.
    public static func load(file: String) throws(ProjectionError) -> (shape: ModelShape, points: [CalibrationPoint], ignored: [String]) {
        let data: Data
        do { data = try InputFile.read(file, limit: 64 << 20, expected: "a calibration JSON file") } catch {
            throw ProjectionError(.calibration(file: file, item: nil, reason: error.message))
        }
        let raw: RawFile
        do {
            raw = try JSONDecoder().decode(RawFile.self, from: data)
        } catch {
            throw ProjectionError(.calibration(file: file, item: nil, reason: "not a calibration file: \(error)"))
        }
        let m = raw.model
        let shape = ModelShape(
            layers: m.layers, hidden: m.hidden, heads: m.heads, kvHeads: m.kv_heads, headDim: m.head_dim, ffn: m.ffn,
            vocab: 128_256, bytesPerElement: raw.dtype.lowercased().contains("32") ? 4 : 2)
        do { try shape.validate() } catch {
            throw ProjectionError(.calibration(file: file, item: nil, reason: "bad model shape: \(error)"))
        }
        var points: [CalibrationPoint] = []
        var ignored: [String] = []
        for (i, item) in raw.items.enumerated() {
            func need(_ v: Int?, _ field: String) throws(ProjectionError) -> Int {
                guard let v, v > 0 else {
                    throw ProjectionError(.calibration(file: file, item: i, reason: "kind '\(item.kind)' needs a positive integer field '\(field)'"))
                }
                return v
            }
            guard item.seconds.isFinite, item.seconds > 0 else {
                throw ProjectionError(.calibration(file: file, item: i, reason: "seconds must be a positive number, got \(item.seconds)"))
            }
            let kind: CalibrationPoint.Kind
            switch item.kind {
            case "gemm_peak": kind = .gemmPeak(m: try need(item.m, "m"), n: try need(item.n, "n"), k: try need(item.k, "k"))
            case "copy_bw": kind = .copy(bytes: try need(item.bytes, "bytes"))
            case "layer_linear": kind = .layerLinear(tokens: try need(item.tokens, "tokens"))
            case "attn_causal":
                let q = try need(item.q_tokens, "q_tokens"), k = try need(item.kv_tokens, "kv_tokens")
                guard q <= k else {
                    throw ProjectionError(.calibration(file: file, item: i, reason: "attn_causal needs q_tokens <= kv_tokens (the queries are the last positions), got \(q) and \(k)"))
                }
                kind = .attentionCausal(queries: q, keys: k)
            case "attn_full": kind = .attentionFull(queries: try need(item.q_tokens, "q_tokens"), keys: try need(item.kv_tokens, "kv_tokens"))
            case "layer_prefill_causal": kind = .layerPrefillCausal(tokens: try need(item.tokens, "tokens"))
            case "model_prefill_causal":
                kind = .modelPrefillCausal(tokens: try need(item.tokens, "tokens"), layers: item.layers ?? m.layers)
            default:
                if !ignored.contains(item.kind) { ignored.append(item.kind) }
                continue
            }
            points.append(CalibrationPoint(kind: kind, seconds: item.seconds))
        }
        guard !points.isEmpty else {
            throw ProjectionError(.calibration(file: file, item: nil, reason: "no usable items (known kinds: gemm_peak, copy_bw, layer_linear, attn_causal, attn_full, layer_prefill_causal, model_prefill_causal)"))
        }
        return (shape, points, ignored)
    }

    /// The cost model's prediction for one point, seconds.
    public static func predict(_ point: CalibrationPoint, model: CostModel) -> Double {
        switch point.kind {
        case .gemmPeak(let m, let n, let k):
            return model.gemm("gemm", m: m, n: n, k: k, shard: .columns).seconds
        case .copy(let bytes):
            return model.stream("copy", bytes: Double(bytes), kernels: 1).seconds
        case .layerLinear(let t):
            return model.layerInputsCost(tokens: t, storesKV: true).seconds + model.finishLayerCost(tokens: t).seconds
        case .attentionCausal(let q, let k):
            return model.attention(queries: q, keyTokens: k, visiblePairs: causalPairs(queries: q, keys: k)).seconds
        case .attentionFull(let q, let k):
            return model.attention(queries: q, keyTokens: k, visiblePairs: q * k).seconds
        case .layerPrefillCausal(let t):
            return layer(t, model)
        case .modelPrefillCausal(let t, let layers):
            return Double(layers) * layer(t, model)
        }
    }

    /// Mean of `(ln predicted − ln measured)²` over `rows` (0 for none): the fit's objective and the
    /// report's figure.
    static func meanSquaredLogError(_ rows: some Sequence<CalibrationRow>) -> Double {
        var sum = 0.0, count = 0
        for row in rows {
            let r = Foundation.log(row.predictedSeconds) - Foundation.log(row.point.seconds)
            sum += r * r
            count += 1
        }
        return count == 0 ? 0 : sum / Double(count)
    }

    /// Every point's prediction with `model`, lazily.
    static func rows(_ points: [CalibrationPoint], model: CostModel) -> some Sequence<CalibrationRow> {
        points.lazy.map { CalibrationRow(point: $0, predictedSeconds: predict($0, model: model)) }
    }

    /// Visible (query, key) pairs when `queries` last positions attend causally to `keys` keys:
    /// `q·(k − q) + q(q+1)/2`.
    static func causalPairs(queries q: Int, keys k: Int) -> Int { q * (k - q) + q * (q + 1) / 2 }

    private static func layer(_ t: Int, _ model: CostModel) -> Double {
        model.layerInputsCost(tokens: t, storesKV: true).seconds
            + model.attention(queries: t, keyTokens: t, visiblePairs: causalPairs(queries: t, keys: t)).seconds
            + model.finishLayerCost(tokens: t).seconds
    }

    /// Fits `device`'s efficiencies and kernel overhead to `file` (one device, one GPU).
    public static func fit(file: String, device: DeviceSpec) throws(ProjectionError) -> CalibrationResult {
        let (shape, points, ignored) = try load(file: file)
        return fit(points: points, shape: shape, device: device, file: file, ignored: ignored)
    }

    /// Fits to points already loaded (see ``fit(file:device:)`` for the procedure).
    public static func fit(
        points: [CalibrationPoint], shape: ModelShape, device: DeviceSpec, file: String = "<points>", ignored: [String] = []
    ) -> CalibrationResult {
        struct Coordinate {
            var get: (EfficiencyParameters, Double) -> Double
            var set: (inout EfficiencyParameters, inout Double, Double) -> Void
            var range: ClosedRange<Double>
            var log: Bool
        }
        func field(_ path: WritableKeyPath<EfficiencyParameters, Double>, _ range: ClosedRange<Double>, log: Bool) -> Coordinate {
            Coordinate(get: { p, _ in p[keyPath: path] }, set: { p, _, v in p[keyPath: path] = v }, range: range, log: log)
        }
        let coordinates = [
            field(\.gemmMax, 0.05...1, log: false),
            field(\.memory, 0.05...1, log: false),
            field(\.saturatingUnitsFraction, 0.01...1, log: false),
            field(\.attentionMax, 0.05...1, log: false),
            field(\.causalHalfKeys, 1...1e6, log: true),
            field(\.attentionMemory, 0.05...1, log: false),
            Coordinate(get: { _, o in o }, set: { _, o, v in o = v }, range: 1e-9...1e-3, log: true),
        ]
        func objective(_ p: EfficiencyParameters, _ overhead: Double) -> Double {
            var d = device.profile
            d.kernelOverheadSeconds = overhead
            return meanSquaredLogError(rows(points, model: CostModel(device: d, efficiency: p, shape: shape)))
        }
        var params = start
        var overhead = startKernelOverheadSeconds
        // Start inside the bounds.
        for c in coordinates {
            let v = min(max(c.get(params, overhead), c.range.lowerBound), c.range.upperBound)
            c.set(&params, &overhead, v)
        }
        var best = objective(params, overhead)
        let golden = (sqrt(5.0) - 1) / 2
        for _ in 0..<100 {
            let before = best
            for c in coordinates {
                let lo0 = c.log ? log(c.range.lowerBound) : c.range.lowerBound
                let hi0 = c.log ? log(c.range.upperBound) : c.range.upperBound
                func eval(_ x: Double) -> Double {
                    var p = params, o = overhead
                    c.set(&p, &o, c.log ? exp(x) : x)
                    return objective(p, o)
                }
                var a = lo0, b = hi0
                var x1 = b - golden * (b - a), x2 = a + golden * (b - a)
                var f1 = eval(x1), f2 = eval(x2)
                for _ in 0..<60 {
                    if f1 < f2 {
                        b = x2; x2 = x1; f2 = f1
                        x1 = b - golden * (b - a); f1 = eval(x1)
                    } else {
                        a = x1; x1 = x2; f1 = f2
                        x2 = a + golden * (b - a); f2 = eval(x2)
                    }
                }
                let x = f1 < f2 ? x1 : x2
                let fx = min(f1, f2)
                if fx < best {
                    best = fx
                    c.set(&params, &overhead, c.log ? exp(x) : x)
                }
            }
            if before - best < 1e-12 { break }
        }
        var fitted = device
        fitted.efficiency = params
        fitted.efficiencySource = .calibrated("fitted by Calibration.fit to \(file)")
        fitted.calibratedRange = CalibratedRange(points: points, shape: shape, source: file)
        fitted.kernelOverheadSeconds = Labelled(overhead, .calibrated("fitted by Calibration.fit to \(file)"))
        let report = check(points: points, shape: shape, device: fitted, file: file, ignored: ignored)
        return CalibrationResult(parameters: params, kernelOverheadSeconds: overhead, device: fitted, report: report)
    }
}

private struct RawFile: Decodable {
    struct Model: Decodable {
        var hidden: Int
        var heads: Int
        var kv_heads: Int
        var head_dim: Int
        var ffn: Int
        var layers: Int
    }
    struct Item: Decodable {
        var kind: String
        var seconds: Double
        var m: Int?
        var n: Int?
        var k: Int?
        var bytes: Int?
        var tokens: Int?
        var layers: Int?
        var q_tokens: Int?
        var kv_tokens: Int?
    }
    var dtype: String
    var model: Model
    var items: [Item]
}
