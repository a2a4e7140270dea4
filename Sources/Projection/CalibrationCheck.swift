import DistributedAttention
import Foundation

extension CalibrationPoint {
    /// The kind of work a point measures, for per-kind accuracy: prefill (TTFT-like), decode
    /// (TPOT-like), or the device's own peaks.
    public enum Group: String, CaseIterable, Sendable, Hashable, Codable {
        /// Whole layers (or models) with causal attention over a prompt.
        case prefillLayer = "prefill layer"
        /// A layer's GEMMs and elementwise work over more than one token.
        case linear
        /// Causal square attention.
        case attentionCausal = "attention causal"
        /// Attention where every query sees every key, more than one query.
        case attentionFull = "attention full"
        /// One token: attention of one query over a KV cache, a layer's linear work on one row.
        case decode
        /// The device's GEMM peak and copy bandwidth.
        case device

        /// TTFT-like (prefill), TPOT-like (decode), or neither (device peaks).
        public var latency: String {
            switch self {
            case .prefillLayer, .linear, .attentionCausal, .attentionFull: return "TTFT-like"
            case .decode: return "TPOT-like"
            case .device: return "device"
            }
        }
    }

    /// The group this point belongs to.
    public var group: Group {
        switch kind {
        case .gemmPeak, .copy: return .device
        case .layerLinear(let t): return t == 1 ? .decode : .linear
        case .attentionCausal: return .attentionCausal
        case .attentionFull(let q, _): return q == 1 ? .decode : .attentionFull
        case .layerPrefillCausal, .modelPrefillCausal: return .prefillLayer
        }
    }
}

/// |relative error| statistics of a set of points.
public struct CalibrationErrorSummary: Sendable, Hashable, Codable {
    public var points: Int
    /// Median and largest |predicted / measured − 1|.
    public var median: Double
    public var max: Double
    /// Points within 10% and within 25%.
    public var within10: Int
    public var within25: Int

    public init(_ rows: [CalibrationRow]) {
        let e = rows.map { abs($0.relativeError) }.sorted()
        points = e.count
        median = e.isEmpty ? 0 : e.count % 2 == 1 ? e[e.count / 2] : (e[e.count / 2 - 1] + e[e.count / 2]) / 2
        max = e.last ?? 0
        within10 = e.filter { $0 <= 0.10 }.count
        within25 = e.filter { $0 <= 0.25 }.count
    }

    /// `median 4.1%, max 18.9%, within 10%: 12/17, within 25%: 17/17`.
    public var text: String {
        String(format: "median %.1f%%, max %.1f%%, within 10%%: %d/%d, within 25%%: %d/%d", 100 * median, 100 * max, within10, points, within25, points)
    }
}

extension CalibrationReport {
    /// Per group, in ``CalibrationPoint/Group`` order, the groups that have points.
    public var groupSummaries: [(group: CalibrationPoint.Group, summary: CalibrationErrorSummary)] {
        CalibrationPoint.Group.allCases.compactMap { g in
            let rows = rows.filter { $0.point.group == g }
            return rows.isEmpty ? nil : (g, CalibrationErrorSummary(rows))
        }
    }

    /// Every point together.
    public var overall: CalibrationErrorSummary { CalibrationErrorSummary(rows) }
}

extension Calibration {
    /// Measured vs predicted for every point of `file` with `device`'s profile as it is (nothing is
    /// fitted). The model shape is the file's `model` block, so any Llama-family shape can be checked.
    /// - Throws: ``ProjectionError`` naming the file and item.
    public static func check(file: String, device: DeviceSpec) throws(ProjectionError) -> CalibrationReport {
        let (shape, points, ignored) = try load(file: file)
        return check(points: points, shape: shape, device: device, file: file, ignored: ignored)
    }

    /// ``check(file:device:)`` on points already loaded.
    public static func check(
        points: [CalibrationPoint], shape: ModelShape, device: DeviceSpec, file: String = "<points>", ignored: [String] = []
    ) -> CalibrationReport {
        let model = CostModel(device: device.profile, efficiency: device.efficiency, shape: shape)
        let rows = Array(rows(points, model: model))
        return CalibrationReport(file: file, rows: rows, ignoredKinds: ignored, meanSquaredLogError: meanSquaredLogError(rows))
    }

    /// Leave-one-group-out cross-validation: for each group with points (except the device peaks,
    /// which every fit needs), fit on the other groups' points and report the error on the held-out
    /// group — what the fit predicts for a kind of work it never saw.
    public static func crossValidate(
        points: [CalibrationPoint], shape: ModelShape, device: DeviceSpec
    ) -> [(heldOut: CalibrationPoint.Group, rows: [CalibrationRow])] {
        CalibrationPoint.Group.allCases.filter { $0 != .device }.compactMap { g in
            let held = points.filter { $0.group == g }
            let train = points.filter { $0.group != g }
            guard !held.isEmpty, !train.isEmpty else { return nil }
            let fitted = fit(points: train, shape: shape, device: device).device
            return (g, check(points: held, shape: shape, device: fitted).rows)
        }
    }
}
