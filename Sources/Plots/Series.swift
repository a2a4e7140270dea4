/// One data point of a ``Series``: an `(x, y)` pair in data units (not pixels).
///
/// Non-finite coordinates (NaN, ±infinity) are allowed; charts skip such points and leave a gap in
/// the line. On a logarithmic axis, points whose coordinate on that axis is `<= 0` are skipped too.
public struct DataPoint: Sendable, Hashable {
    /// Horizontal coordinate in data units (e.g. tokens).
    public var x: Double
    /// Vertical coordinate in data units (e.g. seconds).
    public var y: Double

    /// Creates a point at `(x, y)` in data units.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// A named line of a ``LineChart``: points drawn in the order given, joined by straight segments,
/// each valid point marked with the series' marker shape.
public struct Series: Sendable, Hashable {
    /// Legend text (any characters; escaped when written).
    public var name: String
    /// Points in drawing order. Invalid points (non-finite, or `<= 0` on a log axis) break the line.
    public var points: [DataPoint]

    /// Creates a series from points.
    public init(name: String, points: [DataPoint]) {
        self.name = name
        self.points = points
    }

    /// Creates a series from `(x, y)` tuples, e.g. `Series(name: "Star", points: [(16384, 0.8), (32768, 1.7)])`.
    public init(name: String, points: [(x: Double, y: Double)]) {
        self.init(name: name, points: points.map { DataPoint(x: $0.x, y: $0.y) })
    }

    /// Creates a series from parallel coordinate arrays; extra elements of the longer array are ignored.
    public init(name: String, xs: [Double], ys: [Double]) {
        self.init(name: name, points: zip(xs, ys).map { DataPoint(x: $0, y: $1) })
    }
}

/// One group of bars in a ``BarChart``: a name for the legend and one value per category.
///
/// `values[i]` belongs to `categories[i]` of the chart. Missing values (array shorter than the
/// categories) and non-finite values draw no bar; extra values are ignored.
public struct BarGroup: Sendable, Hashable {
    /// Legend text (e.g. a method name such as "Star Attention").
    public var name: String
    /// One value per category, in data units (e.g. bytes).
    public var values: [Double]

    /// Creates a bar group.
    public init(name: String, values: [Double]) {
        self.name = name
        self.values = values
    }
}
