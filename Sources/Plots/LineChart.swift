/// A line chart of one or more ``Series`` with markers on the points, rendered as SVG.
///
/// Layout: bold title at the top, a legend row (wrapping) beneath it, then the plot area with thin
/// grid lines at the labelled ticks, tick labels written by ``xFormatter`` / ``yFormatter``, and the axis
/// labels (put units in them, e.g. `"Context length (tokens)"`, `"Time to first token"`).
/// Colours follow the Okabe–Ito colour-blind-safe palette and each series also gets its own marker
/// shape, so the chart stays readable in grey-scale.
///
/// Robustness: points with a non-finite coordinate, or a coordinate `<= 0` on a log axis, are
/// skipped and break the line (a gap); a segment of one valid point shows just its marker; a chart
/// with no valid point draws empty axes and "No data". Output is deterministic.
///
/// ```swift
/// let chart = LineChart(
///     title: "Prefill time vs context", xLabel: "Context length (tokens)", yLabel: "Time",
///     xScale: .log2, yScale: .log10, xFormatter: .tokens, yFormatter: .seconds,
///     series: [Series(name: "Star", points: [(16384, 0.4), (32768, 0.9)])])
/// try chart.write(to: "out/prefill.svg")
/// ```
public struct LineChart: SVGChart, Hashable {
    /// Title drawn at the top (also the SVG `<title>`).
    public var title: String
    /// Label under the x axis; include the unit.
    public var xLabel: String
    /// Label beside the y axis (rotated); include the unit.
    public var yLabel: String
    /// Horizontal scale: `.linear`, `.log2` or `.log10`.
    public var xScale: AxisScale
    /// Vertical scale: usually `.linear` or `.log10` (`.log2` also works).
    public var yScale: AxisScale
    /// Formatting of x tick labels (e.g. `.tokens`).
    public var xFormatter: TickFormat
    /// Formatting of y tick labels (e.g. `.seconds`, `.bytes`, `.ratio`).
    public var yFormatter: TickFormat
    /// Lines, drawn in order; colour and marker follow the index.
    public var series: [Series]
    /// Canvas width in px.
    public var width: Double
    /// Canvas height in px.
    public var height: Double
    /// On a linear y axis, extend the range to include 0 (default `true`: honest bar-like baselines).
    public var yIncludesZero: Bool
    /// Explicit x domain in data units; `nil` fits the data. Points outside are clipped.
    public var xRange: ClosedRange<Double>?
    /// Explicit y domain in data units; `nil` fits the data. Points outside are clipped.
    public var yRange: ClosedRange<Double>?

    /// Creates a line chart; see the property documentation for each parameter.
    public init(
        title: String, xLabel: String, yLabel: String,
        xScale: AxisScale = .linear, yScale: AxisScale = .linear,
        xFormatter: TickFormat = .plain, yFormatter: TickFormat = .plain,
        series: [Series], width: Double = 720, height: Double = 440,
        yIncludesZero: Bool = true, xRange: ClosedRange<Double>? = nil, yRange: ClosedRange<Double>? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xScale = xScale
        self.yScale = yScale
        self.xFormatter = xFormatter
        self.yFormatter = yFormatter
        self.series = series
        self.width = width
        self.height = height
        self.yIncludesZero = yIncludesZero
        self.xRange = xRange
        self.yRange = yRange
    }

    /// Whether `p` is drawn (finite, and positive on log axes).
    func isDrawable(_ p: DataPoint) -> Bool { xScale.accepts(p.x) && yScale.accepts(p.y) }

    /// Renders the chart.
    /// - Complexity: O(total points + ticks).
    public func svg() -> String {
        let width = max(self.width, 160), height = max(self.height, 120)
        var doc = SVGDocument(width: width, height: height, title: title)

        let valid = series.flatMap { $0.points.filter(isDrawable) }
        let entries = series.enumerated().map {
            ChartFrame.LegendEntry(name: $0.element.name, color: Palette.color($0.offset), marker: Marker.shape($0.offset))
        }
        let legend = ChartFrame.legendPlacement(entries, width: width, top: ChartFrame.legendTop(hasTitle: !title.isEmpty))
        let plotTop = legend.bottom + 14
        let plotBottom = height - 56
        let yAxis = Axis.make(
            scale: yScale, values: valid.map(\.y), targetTicks: max(2, Int((plotBottom - plotTop) / 55)),
            includeZero: yIncludesZero, binarySteps: yFormatter.prefersBinarySteps, fixed: yRange)
        let yLabels = yAxis.ticks.map(yFormatter.format)
        let plotLeft = 22 + ChartFrame.labelSize + 8 + ChartFrame.yLabelWidth(yLabels) + 10
        let xAxis = Axis.make(
            scale: xScale, values: valid.map(\.x), targetTicks: max(2, Int((width - plotLeft - 30) / 90)),
            includeZero: false, binarySteps: xFormatter.prefersBinarySteps, fixed: xRange)
        let xLabels = xAxis.ticks.map(xFormatter.format)
        let lastHalf = SVGDocument.textWidth(xLabels.last ?? "", size: ChartFrame.tickSize) / 2
        let plotRight = width - max(32, lastHalf + 10)
        let plotW = plotRight - plotLeft, plotH = plotBottom - plotTop
        func px(_ p: DataPoint) -> (Double, Double) {
            (plotLeft + xAxis.fraction(p.x) * plotW, plotBottom - yAxis.fraction(p.y) * plotH)
        }

        doc.raw("<rect id=\"plot-area\" x=\"\(NumberText.px(plotLeft))\" y=\"\(NumberText.px(plotTop))\" width=\"\(NumberText.px(plotW))\" height=\"\(NumberText.px(plotH))\" fill=\"#ffffff\"/>")
        doc.raw("<defs><clipPath id=\"plot-clip\"><rect x=\"\(NumberText.px(plotLeft - 8))\" y=\"\(NumberText.px(plotTop - 8))\" width=\"\(NumberText.px(plotW + 16))\" height=\"\(NumberText.px(plotH + 16))\"/></clipPath></defs>")

        // x grid and ticks.
        doc.raw("<g class=\"x-grid\">")
        for t in xAxis.minorTicks {
            let x = plotLeft + xAxis.fraction(t) * plotW
            doc.line(x1: x, y1: plotTop, x2: x, y2: plotBottom, stroke: ChartFrame.minorGridColor, width: 0.75)
        }
        for t in xAxis.ticks {
            let x = plotLeft + xAxis.fraction(t) * plotW
            doc.line(x1: x, y1: plotTop, x2: x, y2: plotBottom, stroke: ChartFrame.gridColor, width: 1)
        }
        doc.raw("</g>")
        ChartFrame.drawYAxis(yAxis, format: yFormatter, left: plotLeft, right: plotRight, top: plotTop, bottom: plotBottom, into: &doc)
        doc.raw("<g class=\"x-ticks\">")
        for (t, label) in zip(xAxis.ticks, xLabels) {
            let x = plotLeft + xAxis.fraction(t) * plotW
            doc.line(x1: x, y1: plotBottom, x2: x, y2: plotBottom + 5, stroke: ChartFrame.axisColor, width: 1)
            doc.text(label, x: x, y: plotBottom + 19, size: ChartFrame.tickSize, anchor: "middle", cssClass: "tick-label")
        }
        doc.raw("</g>")
        doc.line(x1: plotLeft, y1: plotBottom, x2: plotRight, y2: plotBottom, stroke: ChartFrame.axisColor, width: 1)
        doc.line(x1: plotLeft, y1: plotTop, x2: plotLeft, y2: plotBottom, stroke: ChartFrame.axisColor, width: 1)

        // Series: polylines per run of drawable points, then markers on top.
        doc.raw("<g clip-path=\"url(#plot-clip)\">")
        for (i, s) in series.enumerated() {
            let color = Palette.color(i)
            doc.raw("<g class=\"series\" data-name=\"\(SVGDocument.escape(s.name))\">")
            var runs: [[DataPoint]] = [[]]
            for p in s.points {
                if isDrawable(p) { runs[runs.count - 1].append(p) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
            }
            for run in runs where run.count >= 2 {
                let pts = run.map { p -> String in
                    let (x, y) = px(p)
                    return NumberText.px(x) + "," + NumberText.px(y)
                }.joined(separator: " ")
                doc.raw("<polyline class=\"line\" points=\"\(pts)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>")
            }
            let drawable = runs.flatMap { $0 }
            let r = drawable.count > 80 ? 2.0 : 3.5
            for p in drawable {
                let (x, y) = px(p)
                doc.raw(Marker.shape(i).element(x: x, y: y, r: r, color: color))
            }
            doc.raw("</g>")
        }
        doc.raw("</g>")

        return ChartFrame.finish(
            &doc, empty: valid.isEmpty, legend: entries, at: legend.positions, title: title, xLabel: xLabel, yLabel: yLabel,
            width: width, height: height, plotTop: plotTop, plotBottom: plotBottom, plotLeft: plotLeft, plotRight: plotRight)
    }
}
