import Foundation

/// A grouped bar chart: one cluster of bars per category, one bar per ``BarGroup`` in each
/// cluster (e.g. bytes sent per host, one bar per attention method), rendered as SVG.
///
/// The y axis is linear and always includes 0. Non-finite or missing values draw no bar.
/// Each bar gets a value label above it (written by ``yFormatter``) when every label fits its bar's
/// width (all or none).
/// Colours follow the Okabe–Ito palette. Output is deterministic.
///
/// ```swift
/// let chart = BarChart(
///     title: "Bytes sent per host", xLabel: "Host", yLabel: "Sent", categories: ["h0", "h1"],
///     groups: [BarGroup(name: "Star", values: [1.2e9, 3e8]), BarGroup(name: "Ring", values: [2e9, 2e9])],
///     yFormatter: .bytes)
/// ```
public struct BarChart: SVGChart, Hashable {
    /// Title drawn at the top (also the SVG `<title>`).
    public var title: String
    /// Label under the category axis (may be empty).
    public var xLabel: String
    /// Label beside the y axis (rotated); include the unit.
    public var yLabel: String
    /// Category names along the x axis, left to right.
    public var categories: [String]
    /// Bar groups; `groups[g].values[c]` is the bar of group `g` in category `c`.
    public var groups: [BarGroup]
    /// Formatting of y tick labels and bar value labels.
    public var yFormatter: TickFormat
    /// Canvas width in px.
    public var width: Double
    /// Canvas height in px.
    public var height: Double
    /// Draw value labels above the bars when all of them fit (default `true`).
    public var showValues: Bool

    /// Creates a grouped bar chart; see the property documentation for each parameter.
    public init(
        title: String, xLabel: String = "", yLabel: String, categories: [String], groups: [BarGroup],
        yFormatter: TickFormat = .plain, width: Double = 720, height: Double = 440, showValues: Bool = true
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.categories = categories
        self.groups = groups
        self.yFormatter = yFormatter
        self.width = width
        self.height = height
        self.showValues = showValues
    }

    /// The value of group `g` in category `c`, or `nil` when missing or non-finite.
    func value(_ g: Int, _ c: Int) -> Double? {
        let values = groups[g].values
        guard c < values.count, values[c].isFinite else { return nil }
        return values[c]
    }

    /// Renders the chart.
    /// - Complexity: O(categories × groups + ticks).
    public func svg() -> String {
        let width = max(self.width, 160), height = max(self.height, 120)
        var doc = SVGDocument(width: width, height: height, title: title)
        let nCat = categories.count, nGroup = groups.count
        var values: [Double] = []
        for g in 0..<nGroup { for c in 0..<nCat { if let v = value(g, c) { values.append(v) } } }

        let entries = groups.enumerated().map {
            ChartFrame.LegendEntry(name: $0.element.name, color: Palette.color($0.offset), marker: nil)
        }
        let legend = ChartFrame.legendPlacement(entries, width: width, top: ChartFrame.legendTop(hasTitle: !title.isEmpty))
        let plotTop = legend.bottom + 14 + (showValues ? 6 : 0)

        // Category labels: horizontal when they fit their band, otherwise rotated by 35°.
        let catWidths = categories.map { SVGDocument.textWidth($0, size: ChartFrame.tickSize) }
        let roughBand = (width - 120) / Double(max(nCat, 1))
        let rotate = (catWidths.max() ?? 0) > roughBand - 6
        let angle = 35.0 * Double.pi / 180
        let catDrop = rotate ? min((catWidths.max() ?? 0) * sin(angle), height * 0.3) + 8 : 0
        let plotBottom = height - 56 - catDrop

        let yAxis = Axis.make(
            scale: .linear, values: values, targetTicks: max(2, Int((plotBottom - plotTop) / 55)),
            includeZero: true, binarySteps: yFormatter.prefersBinarySteps, fixed: nil)
        let yLabels = yAxis.ticks.map(yFormatter.format)
        let plotLeft = 22 + ChartFrame.labelSize + 8 + ChartFrame.yLabelWidth(yLabels) + 10
        let plotRight = width - 32
        let plotW = plotRight - plotLeft, plotH = plotBottom - plotTop
        func yPx(_ v: Double) -> Double { plotBottom - yAxis.fraction(v) * plotH }

        doc.raw("<rect id=\"plot-area\" x=\"\(NumberText.px(plotLeft))\" y=\"\(NumberText.px(plotTop))\" width=\"\(NumberText.px(plotW))\" height=\"\(NumberText.px(plotH))\" fill=\"#ffffff\"/>")
        ChartFrame.drawYAxis(yAxis, format: yFormatter, left: plotLeft, right: plotRight, top: plotTop, bottom: plotBottom, into: &doc)

        let band = plotW / Double(max(nCat, 1))
        let clusterW = band * 0.8
        let barW = clusterW / Double(max(nGroup, 1))
        let zeroY = yPx(0)
        // Value labels are all-or-nothing: a chart with labels on only some bars reads as if the
        // others were missing.
        let labelsFit = values.allSatisfy { SVGDocument.textWidth(yFormatter.format($0), size: 10) <= barW + 8 }
        let drawValues = showValues && labelsFit
        doc.raw("<g class=\"bars\">")
        for g in 0..<nGroup {
            let color = Palette.color(g)
            doc.raw("<g class=\"series\" data-name=\"\(SVGDocument.escape(groups[g].name))\">")
            for c in 0..<nCat {
                guard let v = value(g, c) else { continue }
                let x = plotLeft + Double(c) * band + (band - clusterW) / 2 + Double(g) * barW
                let y = yPx(v)
                let inset = min(1, barW * 0.1)
                doc.rect(
                    x: x + inset, y: min(y, zeroY), width: max(barW - 2 * inset, 0.5), height: abs(zeroY - y),
                    fill: color, extra: " class=\"bar\"")
                if drawValues {
                    let ly = v >= 0 ? y - 4 : y + 12
                    doc.text(yFormatter.format(v), x: x + barW / 2, y: ly, size: 10, anchor: "middle", fill: "#333333", cssClass: "value-label")
                }
            }
            doc.raw("</g>")
        }
        doc.raw("</g>")

        // Category axis.
        doc.line(x1: plotLeft, y1: zeroY, x2: plotRight, y2: zeroY, stroke: ChartFrame.axisColor, width: 1)
        doc.line(x1: plotLeft, y1: plotTop, x2: plotLeft, y2: plotBottom, stroke: ChartFrame.axisColor, width: 1)
        doc.raw("<g class=\"x-ticks\">")
        for (c, name) in categories.enumerated() {
            let x = plotLeft + (Double(c) + 0.5) * band
            let y = plotBottom + 19
            if rotate {
                let px = NumberText.px
                doc.raw("<text x=\"\(px(x))\" y=\"\(px(y))\" font-size=\"\(px(ChartFrame.tickSize))\" text-anchor=\"end\" fill=\"#222222\" class=\"tick-label\" transform=\"rotate(-35 \(px(x)) \(px(y)))\">\(SVGDocument.escape(name))</text>")
            } else {
                doc.text(name, x: x, y: y, size: ChartFrame.tickSize, anchor: "middle", cssClass: "tick-label")
            }
        }
        doc.raw("</g>")
        return ChartFrame.finish(
            &doc, empty: values.isEmpty, legend: entries, at: legend.positions, title: title, xLabel: xLabel, yLabel: yLabel,
            width: width, height: height, plotTop: plotTop, plotBottom: plotBottom, plotLeft: plotLeft, plotRight: plotRight)
    }
}
