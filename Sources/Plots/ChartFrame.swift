/// Layout and drawing shared by ``LineChart`` and ``BarChart``: title, legend rows, the plot
/// rectangle, the y axis with grid lines, and axis labels. All sizes in px.
struct ChartFrame {
    static let titleSize = 17.0
    static let labelSize = 13.0
    static let tickSize = 12.0
    static let legendSize = 12.0
    static let gridColor = "#dddddd"
    static let minorGridColor = "#eeeeee"
    static let axisColor = "#444444"

    struct LegendEntry {
        var name: String
        var color: String
        /// Marker to draw, or `nil` for a filled swatch (bar charts).
        var marker: Marker?
    }

    /// Top of the first legend row and the legend entries placed in rows: `(x, baselineY)`.
    static func legendPlacement(_ entries: [LegendEntry], width: Double, top: Double) -> (positions: [(Double, Double)], bottom: Double) {
        guard !entries.isEmpty else { return ([], top) }
        let maxRow = width - 32
        let gap = 18.0
        func entryWidth(_ e: LegendEntry) -> Double { 30 + SVGDocument.textWidth(e.name, size: legendSize) }
        var rows: [[Int]] = [[]]
        var rowWidth = 0.0
        for (i, e) in entries.enumerated() {
            let w = entryWidth(e)
            if !rows[rows.count - 1].isEmpty && rowWidth + gap + w > maxRow {
                rows.append([])
                rowWidth = 0
            }
            rowWidth += (rows[rows.count - 1].isEmpty ? 0 : gap) + w
            rows[rows.count - 1].append(i)
        }
        var positions = Array(repeating: (0.0, 0.0), count: entries.count)
        for (r, row) in rows.enumerated() {
            let total = row.map { entryWidth(entries[$0]) }.reduce(0, +) + gap * Double(row.count - 1)
            var x = (width - total) / 2
            let y = top + 12 + Double(r) * 20
            for i in row {
                positions[i] = (x, y)
                x += entryWidth(entries[i]) + gap
            }
        }
        return (positions, top + Double(rows.count) * 20)
    }

    static func drawLegend(_ entries: [LegendEntry], positions: [(Double, Double)], into doc: inout SVGDocument) {
        guard !entries.isEmpty else { return }
        doc.raw("<g class=\"legend\">")
        for (e, (x, y)) in zip(entries, positions) {
            let midY = y - 4
            if let marker = e.marker {
                doc.line(x1: x, y1: midY, x2: x + 24, y2: midY, stroke: e.color, width: 2)
                doc.raw(marker.element(x: x + 12, y: midY, r: 3.5, color: e.color))
            } else {
                doc.rect(x: x + 5, y: midY - 7, width: 14, height: 14, fill: e.color)
            }
            doc.text(e.name, x: x + 30, y: y, size: legendSize, cssClass: "legend-label")
        }
        doc.raw("</g>")
    }

    /// Width the y tick labels need.
    static func yLabelWidth(_ labels: [String]) -> Double {
        labels.map { SVGDocument.textWidth($0, size: tickSize) }.max() ?? 0
    }

    /// Draws horizontal grid lines, tick marks and labels for the y axis.
    static func drawYAxis(
        _ axis: Axis, format: TickFormat, left: Double, right: Double, top: Double, bottom: Double,
        into doc: inout SVGDocument
    ) {
        let h = bottom - top
        doc.raw("<g class=\"y-grid\">")
        for t in axis.minorTicks {
            let y = bottom - axis.fraction(t) * h
            doc.line(x1: left, y1: y, x2: right, y2: y, stroke: minorGridColor, width: 0.75)
        }
        for t in axis.ticks {
            let y = bottom - axis.fraction(t) * h
            doc.line(x1: left, y1: y, x2: right, y2: y, stroke: gridColor, width: 1)
        }
        doc.raw("</g>")
        doc.raw("<g class=\"y-ticks\">")
        for t in axis.ticks {
            let y = bottom - axis.fraction(t) * h
            doc.line(x1: left - 5, y1: y, x2: left, y2: y, stroke: axisColor, width: 1)
            doc.text(format.format(t), x: left - 8, y: y + 4, size: tickSize, anchor: "end", cssClass: "tick-label")
        }
        doc.raw("</g>")
    }

    /// What every chart draws after its data: a "No data" note when `empty`, the legend, the title
    /// and the axis labels; then the finished document.
    static func finish(
        _ doc: inout SVGDocument, empty: Bool, legend entries: [LegendEntry], at positions: [(Double, Double)],
        title: String, xLabel: String, yLabel: String, width: Double, height: Double,
        plotTop: Double, plotBottom: Double, plotLeft: Double, plotRight: Double
    ) -> String {
        if empty {
            doc.text("No data", x: (plotLeft + plotRight) / 2, y: (plotTop + plotBottom) / 2, size: 14, anchor: "middle", fill: "#777777", cssClass: "no-data")
        }
        drawLegend(entries, positions: positions, into: &doc)
        drawLabels(
            title: title, xLabel: xLabel, yLabel: yLabel, width: width, height: height,
            plotTop: plotTop, plotBottom: plotBottom, plotLeft: plotLeft, plotRight: plotRight, into: &doc)
        return doc.finish()
    }

    /// Title, rotated y-axis label and x-axis label.
    static func drawLabels(
        title: String, xLabel: String, yLabel: String, width: Double, height: Double,
        plotTop: Double, plotBottom: Double, plotLeft: Double, plotRight: Double, into doc: inout SVGDocument
    ) {
        if !title.isEmpty {
            // Shrink long titles (bold glyphs ≈ 0.62 em) so they stay inside the canvas; 11 px minimum.
            let fitted = (width - 24) / (0.62 * Double(max(title.count, 1)))
            let size = max(11, min(titleSize, (fitted * 2).rounded(.down) / 2))
            doc.text(title, x: width / 2, y: 28, size: size, anchor: "middle", weight: "bold", cssClass: "title")
        }
        if !xLabel.isEmpty {
            doc.text(xLabel, x: (plotLeft + plotRight) / 2, y: height - 14, size: labelSize, anchor: "middle", cssClass: "axis-label")
        }
        if !yLabel.isEmpty {
            doc.text(
                yLabel, x: 22, y: (plotTop + plotBottom) / 2, size: labelSize, anchor: "middle", rotate: true,
                cssClass: "axis-label")
        }
    }

    /// Top edge of the legend, below the title.
    static func legendTop(hasTitle: Bool) -> Double { hasTitle ? 40 : 12 }
}
