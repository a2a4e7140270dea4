import DistributedAttention

/// The shapes a device profile's efficiencies were measured on (`calibrated_range` in a device
/// profile, written by `starsim calibrate fit`): outside them a projection extrapolates through the
/// cost model's mechanisms (`Docs/Accuracy.md`, "Coverage").
public struct CalibratedRange: Sendable, Hashable, Codable {
    /// The calibration file the ranges come from.
    public var source: String
    /// Token rows of linear work measured (`layer_linear`, `layer_prefill_causal`, `model_prefill_causal`).
    public var linearTokens: ClosedRange<Int>
    /// Keys of attention with more than one query (prefill squares, chunks, whole layers).
    public var attentionKeys: ClosedRange<Int>
    /// Keys of one-query attention (decode); nil when none was measured.
    public var decodeKeys: ClosedRange<Int>?
    /// Model hidden sizes measured (the width of every GEMM and of attention's heads × head dim).
    public var hidden: ClosedRange<Int>

    public init(source: String, linearTokens: ClosedRange<Int>, attentionKeys: ClosedRange<Int>,
                decodeKeys: ClosedRange<Int>?, hidden: ClosedRange<Int>) {
        self.source = source
        self.linearTokens = linearTokens
        self.attentionKeys = attentionKeys
        self.decodeKeys = decodeKeys
        self.hidden = hidden
    }

    /// `linear 1–32768 tokens, attention 2048–65536 keys, decode 32768 keys, hidden 4096 (from FILE)`.
    public static func describe(_ r: CalibratedRange) -> String {
        func span(_ x: ClosedRange<Int>) -> String { x.lowerBound == x.upperBound ? "\(x.lowerBound)" : "\(x.lowerBound)–\(x.upperBound)" }
        return "linear \(span(r.linearTokens)) tokens, attention \(span(r.attentionKeys)) keys, decode "
            + (r.decodeKeys.map { "\(span($0)) keys" } ?? "not measured") + ", hidden \(span(r.hidden)) (from \(r.source))"
    }

    /// The ranges of a calibration file's points (nil when it has no layer or attention point).
    public init?(points: [CalibrationPoint], shape: ModelShape, source: String) {
        var linear: [Int] = [], keys: [Int] = [], decode: [Int] = []
        for p in points {
            switch p.kind {
            case .layerLinear(let t): linear.append(t)
            case .layerPrefillCausal(let t), .modelPrefillCausal(let t, _): linear.append(t); keys.append(t)
            case .attentionCausal(let q, let k), .attentionFull(let q, let k): if q == 1 { decode.append(k) } else { keys.append(k) }
            case .gemmPeak, .copy: break
            }
        }
        guard let l0 = linear.min(), let l1 = linear.max(), let k0 = keys.min(), let k1 = keys.max() else { return nil }
        self.init(source: source, linearTokens: l0...l1, attentionKeys: k0...k1,
                  decodeKeys: decode.min().map { $0...decode.max()! }, hidden: shape.hidden...shape.hidden)
    }
}

/// The largest and smallest shapes of each kind of work one run charged (recorded from its ops).
public struct OpShapes: Sendable, Hashable {
    public var linearTokens: ClosedRange<Int>?
    public var attentionKeys: ClosedRange<Int>?
    public var decodeKeys: ClosedRange<Int>?

    public init() {}

    static func widen(_ r: ClosedRange<Int>?, _ x: Int) -> ClosedRange<Int> {
        guard let r else { return x...x }
        return min(r.lowerBound, x)...max(r.upperBound, x)
    }

    /// Notes the shapes of `op`.
    public mutating func note(_ op: Op) {
        switch op {
        case .layerInputs(_, let s, _), .finishLayer(_, let s):
            linearTokens = Self.widen(linearTokens, s.tokenCount)
        case .attend(_, let q, _, _, let keys), .attendHeads(_, let q, _, _, _, _, let keys):
            if q.tokenCount == 1 { decodeKeys = Self.widen(decodeKeys, keys) } else { attentionKeys = Self.widen(attentionKeys, keys) }
        case .encode(let s, _, _, _, let keys):
            linearTokens = Self.widen(linearTokens, s.tokenCount)
            if s.tokenCount == 1 { decodeKeys = Self.widen(decodeKeys, keys) } else { attentionKeys = Self.widen(attentionKeys, keys) }
        case .embed, .merge, .mergeHeads, .logits, .sample, .compress:
            break
        }
    }

}

/// Whether a projection stays where its device was measured: `calibrated`, `extrapolated` (with
/// what lies outside), or `uncalibrated` (the device's efficiencies were not measured on it).
public struct Coverage: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Status: String, Sendable, Hashable, Codable { case calibrated, extrapolated, uncalibrated }
    public var status: Status
    /// Why, one item per dimension outside (`attention over 1M keys (calibrated 2K–64K)`).
    public var notes: [String]

    public init(status: Status, notes: [String]) { self.status = status; self.notes = notes }

    /// The coverage of a run that charged `shapes` for `model` on `device`.
    public init(shapes: OpShapes, model: ModelShape, device: DeviceSpec) {
        guard let range = device.calibratedRange else {
            self.init(status: .uncalibrated, notes: [
                "\(device.name) has no calibrated range: its efficiencies were not measured on it (\(device.efficiencySource.kind.rawValue))",
            ])
            return
        }
        func tokens(_ n: Int) -> String { n >= 1024 && n % 1024 == 0 ? "\(n / 1024)K" : "\(n)" }
        func span(_ r: ClosedRange<Int>) -> String { r.lowerBound == r.upperBound ? tokens(r.lowerBound) : "\(tokens(r.lowerBound))–\(tokens(r.upperBound))" }
        func outside(_ used: ClosedRange<Int>?, _ measured: ClosedRange<Int>?, _ what: String) -> String? {
            guard let used else { return nil }
            guard let measured else { return "\(what) \(span(used)) (none measured)" }
            if measured.contains(used.lowerBound) && measured.contains(used.upperBound) { return nil }
            return "\(what) \(span(used)) (calibrated \(span(measured)))"
        }
        let wide = range.hidden.contains(model.hidden) ? nil
            : "hidden size \(model.hidden) (calibrated \(range.hidden.lowerBound == range.hidden.upperBound ? "\(range.hidden.lowerBound)" : "\(range.hidden.lowerBound)–\(range.hidden.upperBound)"))"
        let notes = [
            wide,
            outside(shapes.linearTokens, range.linearTokens, "linear work over tokens"),
            outside(shapes.attentionKeys, range.attentionKeys, "attention over keys"),
            outside(shapes.decodeKeys, range.decodeKeys, "decode over keys"),
        ].compactMap { $0 }
        self.init(status: notes.isEmpty ? .calibrated : .extrapolated, notes: notes)
    }

    public var description: String { notes.isEmpty ? status.rawValue : "\(status.rawValue): \(notes.joined(separator: "; "))" }
}

extension DeviceSpec {
    /// This profile with `range` as its calibrated range.
    public func withCalibratedRange(_ range: CalibratedRange?) -> DeviceSpec {
        var d = self
        d.calibratedRange = range
        return d
    }
}
