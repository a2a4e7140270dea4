import Foundation
import Plots
import Testing

@Suite struct BarChartTests {
    static func chart() -> BarChart {
        BarChart(
            title: "Bytes sent per host", xLabel: "Host", yLabel: "Bytes sent",
            categories: ["host 0", "host 1", "host 2", "host 3"],
            groups: [
                BarGroup(name: "Star Attention", values: [0, 0.3e9, 0.3e9, 0.3e9]),
                BarGroup(name: "Ring Attention", values: [1.2e9, 1.2e9, 1.2e9, 1.2e9]),
                BarGroup(name: "Global (gather)", values: [0, 0.9e9, .nan]),
            ],
            yFormatter: .bytes)
    }

    @Test func barsParseAndScaleWithValues() throws {
        let svg = Self.chart().svg()
        let nodes = try #require(parseSVG(svg))
        #expect(nodes.texts("title") == ["Bytes sent per host"])
        #expect(nodes.texts("legend-label") == ["Star Attention", "Ring Attention", "Global (gather)"])
        #expect(nodes.texts("tick-label", in: "x-ticks") == ["host 0", "host 1", "host 2", "host 3"])
        #expect(nodes.texts("tick-label", in: "y-ticks") == ["0 B", "200 MB", "400 MB", "600 MB", "800 MB", "1 GB", "1.2 GB"])
        let bars = nodes.elements("rect", cssClass: "bar")
        // 4 + 4 + 2 (NaN and the missing fourth value draw nothing).
        #expect(bars.count == 10)
        let area = try #require(nodes.first { $0.attributes["id"] == "plot-area" })
        let plotH = try #require(area.number("height"))
        // The axis ends at 1.2 GB, so a 1.2 GB bar fills the plot height and 0.3 GB a quarter of it.
        let heights = bars.map { $0.number("height")! }
        #expect(abs(heights[4] - plotH) <= 0.01)
        #expect(abs(heights[1] - plotH / 4) <= 0.01)
        #expect(heights[0] == 0)
        // Bars of one category sit left to right in group order, inside the plot area.
        let xs = bars.map { $0.number("x")! }
        #expect(xs[0] < xs[4] && xs[4] < xs[8])
        #expect(xs.allSatisfy { $0 >= area.number("x")! })
        #expect(nodes.texts("value-label").contains("1.2 GB"))
        #expect(Self.chart().svg() == svg)
    }

    @Test func emptyAndEscapedBarCharts() throws {
        let empty = BarChart(title: "None", yLabel: "y", categories: [], groups: [])
        let nodes = try #require(parseSVG(empty.svg()))
        #expect(nodes.texts("no-data") == ["No data"])
        let odd = BarChart(
            title: "<&>", yLabel: "ratio", categories: ["a<b", "c&d"],
            groups: [BarGroup(name: "x>y", values: [-1.5, 2.5])], yFormatter: .ratio)
        let oddNodes = try #require(parseSVG(odd.svg()))
        #expect(oddNodes.texts("title") == ["<&>"])
        #expect(oddNodes.texts("tick-label", in: "x-ticks") == ["a<b", "c&d"])
        #expect(oddNodes.texts("legend-label") == ["x>y"])
        #expect(oddNodes.texts("value-label") == ["-1.5×", "2.5×"])
    }

    @Test func longCategoryNamesAreRotated() throws {
        let names = (0..<12).map { "a rather long host name \($0)" }
        let chart = BarChart(
            title: "Rotated", yLabel: "y", categories: names,
            groups: (0..<3).map { g in BarGroup(name: "g\(g)", values: (0..<12).map { Double($0 * 100 + g) + 0.5 }) })
        let nodes = try #require(parseSVG(chart.svg()))
        let labels = nodes.filter { $0.name == "text" && $0.cssClass == "tick-label" && $0.inside("x-ticks") }
        #expect(labels.count == 12)
        #expect(labels.allSatisfy { ($0.attributes["transform"] ?? "").hasPrefix("rotate(-35") })
        // 36 bars of ~13 px are too narrow for labels like "1100.5": none are drawn, rather than some.
        #expect(nodes.texts("value-label").isEmpty)
        var wide = chart
        wide.categories = ["a", "b"]
        wide.groups = [BarGroup(name: "g", values: [1, 10])]
        #expect(try #require(parseSVG(wide.svg())).texts("value-label") == ["1", "10"])
    }
}
