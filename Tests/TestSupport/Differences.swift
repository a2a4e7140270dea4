/// Largest |a − b| over two equal-length arrays, in Double; infinities must match exactly and a NaN
/// on either side counts as a difference (both return +inf).
public func maxAbsDifference(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var worst = 0.0
    for (x, y) in zip(a, b) {
        if x.isInfinite || y.isInfinite {
            if Double(x) != y { return .infinity }
            continue
        }
        if x.isNaN || y.isNaN { return .infinity }
        worst = max(worst, abs(Double(x) - y))
    }
    return worst
}

/// Largest |a − b| over two equal-length Float arrays, in Double (as above).
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Double {
    maxAbsDifference(a, b.map(Double.init))
}
