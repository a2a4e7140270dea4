import Foundation

/// How data values map to positions along an axis.
public enum AxisScale: Sendable, Hashable {
    /// Position proportional to the value; ticks in 1-2-5 steps (or powers of two for binary formats).
    case linear
    /// Position proportional to `log2(value)`; ticks at powers of two. Values `<= 0` are skipped.
    case log2
    /// Position proportional to `log10(value)`; ticks at powers of ten (plus 2 and 5 when the
    /// range spans at most two decades), or at powers of two with the binary formats
    /// (``TickFormat/tokens``, ``TickFormat/binaryBytes``). Values `<= 0` are skipped.
    case log10

    /// Whether `value` can be placed on this scale (finite, and positive on log scales).
    public func accepts(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        switch self {
        case .linear: return true
        case .log2, .log10: return value > 0
        }
    }

    /// Maps a value to the transformed coordinate in which the axis is linear.
    func transform(_ value: Double) -> Double {
        switch self {
        case .linear: return value
        case .log2: return Foundation.log2(value)
        case .log10: return Foundation.log10(value)
        }
    }
}

/// The resolved extent and ticks of one axis, computed from the data.
struct Axis: Sendable {
    var scale: AxisScale
    /// Domain in data units, `lower < upper`, both accepted by `scale`.
    var lower: Double
    var upper: Double
    /// Labelled ticks in data units, ascending, inside `[lower, upper]`.
    var ticks: [Double]
    /// Unlabelled minor grid positions in data units (log10 only).
    var minorTicks: [Double]

    /// Fraction in `[0, 1]` (for values inside the domain) of the position of `value` along the axis.
    func fraction(_ value: Double) -> Double {
        let lo = scale.transform(lower), hi = scale.transform(upper)
        return (scale.transform(value) - lo) / (hi - lo)
    }

    /// Builds an axis covering `values` (already filtered to those the scale accepts).
    /// - Parameters:
    ///   - targetTicks: about how many labelled ticks fit along the axis.
    ///   - includeZero: on a linear scale, extend the domain to contain 0.
    ///   - binarySteps: on a linear scale, prefer power-of-two steps (token counts, binary bytes).
    ///   - fixed: an explicit domain that overrides the data extent (ticks still "nice").
    static func make(
        scale: AxisScale, values: [Double], targetTicks: Int, includeZero: Bool,
        binarySteps: Bool, fixed: ClosedRange<Double>?
    ) -> Axis {
        var lo: Double, hi: Double
        if let fixed, scale.accepts(fixed.lowerBound), scale.accepts(fixed.upperBound),
            fixed.lowerBound < fixed.upperBound
        {
            lo = fixed.lowerBound
            hi = fixed.upperBound
            return build(scale: scale, lo: lo, hi: hi, targetTicks: targetTicks, binarySteps: binarySteps, snap: false)
        }
        if let mn = values.min(), let mx = values.max() {
            lo = mn
            hi = mx
        } else {
            switch scale {
            case .linear: lo = 0; hi = 1
            case .log2, .log10: lo = 1; hi = 10
            }
        }
        if scale == .linear && includeZero {
            lo = Swift.min(lo, 0)
            hi = Swift.max(hi, 0)
        }
        if lo == hi {
            switch scale {
            case .linear:
                if lo == 0 { hi = 1 } else {
                    let d = abs(lo) / 2
                    lo -= d
                    hi += d
                    if includeZero { lo = Swift.min(lo, 0); hi = Swift.max(hi, 0) }
                }
            case .log2: lo /= 2; hi *= 2
            case .log10: lo /= 10; hi *= 10
            }
        }
        return build(scale: scale, lo: lo, hi: hi, targetTicks: targetTicks, binarySteps: binarySteps, snap: true)
    }

    private static func build(
        scale: AxisScale, lo: Double, hi: Double, targetTicks: Int, binarySteps: Bool, snap: Bool
    ) -> Axis {
        switch scale {
        case .linear:
            return linear(lo: lo, hi: hi, target: Swift.max(2, targetTicks), binary: binarySteps, snap: snap)
        case .log2:
            return logarithmic(scale: scale, base: 2, lo: lo, hi: hi, target: Swift.max(2, targetTicks), snap: snap)
        case .log10:
            // Positions on a log axis do not depend on the base, so binary formats (token counts)
            // get their round powers of two as ticks even on a log10 axis ("1K, 2K, 4K", not "1.95K").
            return logarithmic(
                scale: scale, base: binarySteps ? 2 : 10, lo: lo, hi: hi, target: Swift.max(2, targetTicks), snap: snap)
        }
    }

    /// Chooses a step of 1, 2 or 5 times a power of ten (or a power of two when `binary`).
    static func niceStep(span: Double, target: Int, binary: Bool) -> Double {
        let raw = span / Double(target)
        guard raw.isFinite, raw > 0 else { return 0 }
        if binary && raw >= 1 {
            return Foundation.pow(2, Foundation.log2(raw).rounded())
        }
        let mag = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let norm = raw / mag
        let mult: Double = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10
        return mult * mag
    }

    private static func linear(lo: Double, hi: Double, target: Int, binary: Bool, snap: Bool) -> Axis {
        // Halve before subtracting so that spans near Double.greatestFiniteMagnitude do not overflow.
        let span = (hi / 2 - lo / 2) * 2
        let step = niceStep(span: span, target: target, binary: binary)
        let first = (lo / step).rounded(.up), last = (hi / step).rounded(.down)
        guard step > 0, step.isFinite, first.isFinite, last.isFinite, last - first <= 1000 else {
            // Degenerate (denormal or overflowing) ranges: label the two ends only.
            return Axis(scale: .linear, lower: lo, upper: hi, ticks: [lo, hi], minorTicks: [])
        }
        var lower = lo, upper = hi
        var i0 = first, i1 = last
        if snap {
            i0 = (lo / step).rounded(.down)
            i1 = (hi / step).rounded(.up)
            lower = i0 * step
            upper = i1 * step
            if !(lower.isFinite && upper.isFinite) { lower = lo; upper = hi; i0 = first; i1 = last }
        }
        var ticks: [Double] = []
        var i = i0
        while i <= i1 {
            var t = i * step
            if abs(t) < step * 1e-9 { t = 0 }
            if t >= lower - step * 1e-9 && t <= upper + step * 1e-9 { ticks.append(t) }
            i += 1
        }
        return Axis(scale: .linear, lower: lower, upper: upper, ticks: ticks, minorTicks: [])
    }

    private static func logarithmic(
        scale: AxisScale, base: Double, lo: Double, hi: Double, target: Int, snap: Bool
    ) -> Axis {
        let tlo = Foundation.log(lo) / Foundation.log(base), thi = Foundation.log(hi) / Foundation.log(base)
        var e0 = Foundation.floor(tlo + 1e-9), e1 = Foundation.ceil(thi - 1e-9)
        if e0 == e1 { e0 -= 1; e1 += 1 }
        let decades = e1 - e0
        // Thin out labels when there are too many powers; keep them aligned to multiples of `stride`.
        let stride = Swift.max(1, Foundation.ceil(decades / Double(target + 4)))
        if snap {
            e0 = Foundation.floor(e0 / stride) * stride
            e1 = Foundation.ceil(e1 / stride) * stride
        }
        let lower = snap ? Foundation.pow(base, e0) : lo
        let upper = snap ? Foundation.pow(base, e1) : hi
        var ticks: [Double] = []
        var minor: [Double] = []
        var e = Foundation.floor(e0 / stride) * stride
        func inside(_ v: Double) -> Bool { v >= lower * (1 - 1e-12) && v <= upper * (1 + 1e-12) }
        while e <= e1 {
            let p = Foundation.pow(base, e)
            if inside(p), p > 0, p.isFinite { ticks.append(p) }
            if base == 10 && stride == 1 {
                for m in 2...9 {
                    let v = Double(m) * p
                    guard inside(v), v.isFinite else { continue }
                    if decades <= 2 && (m == 2 || m == 5) { ticks.append(v) } else if decades <= 6 { minor.append(v) }
                }
            }
            e += stride
        }
        if ticks.count < 2 { ticks = [lower, upper] }
        return Axis(scale: scale, lower: lower, upper: upper, ticks: ticks.sorted(), minorTicks: minor)
    }
}
