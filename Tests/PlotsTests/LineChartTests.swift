import Foundation
import Plots
import Testing

@Suite struct LineChartTests {
    /// Token counts from 16K to 1M, as `starsim project` produces them.
    static let contexts: [Double] = [16384, 32768, 65536, 131_072, 262_144, 524_288, 1_048_576]

    static func projectionChart() -> LineChart {
        LineChart(
            title: "Prefill time vs context length", xLabel: "Context length (tokens)", yLabel: "Prefill time",
            xScale: .log2, yScale: .log10, xFormatter: .tokens, yFormatter: .seconds,
            series: [
                Series(name: "Global attention", xs: contexts, ys: contexts.map { 2e-10 * $0 * $0 / 16 + 0.01 }),
                Series(name: "Star Attention (4 hosts)", xs: contexts, ys: contexts.map { 2e-10 * $0 * $0 / 64 + 0.02 }),
                Series(name: "Ring Attention (4 hosts)", xs: contexts, ys: contexts.map { 2e-10 * $0 * $0 / 48 + 0.05 }),
            ])
    }

    @Test func parsesAndContainsTitleLegendAndLog2TokenTicks() throws {
        let svg = Self.projectionChart().svg()
        let nodes = try #require(parseSVG(svg))
        #expect(nodes.first?.name == "svg")
        #expect(nodes.first { $0.name == "title" }?.text == "Prefill time vs context length")
        #expect(nodes.texts("title") == ["Prefill time vs context length"])
        #expect(nodes.texts("legend-label") == ["Global attention", "Star Attention (4 hosts)", "Ring Attention (4 hosts)"])
        #expect(nodes.texts("tick-label", in: "x-ticks") == ["16K", "32K", "64K", "128K", "256K", "512K", "1M"])
        #expect(nodes.texts("axis-label") == ["Context length (tokens)", "Prefill time"])
        // y spans 0.0267 s … 13.8 s: decades from 10 ms to 100 s.
        #expect(nodes.texts("tick-label", in: "y-ticks") == ["10 ms", "100 ms", "1 s", "10 s", "100 s"])
        #expect(nodes.elements("polyline", cssClass: "line").count == 3)
        #expect(nodes.filter { $0.cssClass == "marker" && $0.inside("series") }.count == 21)
        // Colour-blind-safe palette (Okabe–Ito blue, vermillion, green).
        let strokes = nodes.elements("polyline", cssClass: "line").map { $0.attributes["stroke"] ?? "" }
        #expect(strokes == ["#0072B2", "#D55E00", "#009E73"])
    }

    @Test func log2PointsSitOnTheirTicks() throws {
        let nodes = try #require(parseSVG(Self.projectionChart().svg()))
        let area = try #require(nodes.first { $0.attributes["id"] == "plot-area" })
        let left = try #require(area.number("x")), width = try #require(area.number("width"))
        let xs = polylinePoints(nodes.elements("polyline", cssClass: "line")[0]).map(\.0)
        // Seven powers of two spread evenly over the width (16K at the left edge, 1M at the right).
        for (i, x) in xs.enumerated() {
            #expect(abs(x - (left + width * Double(i) / 6)) <= 0.011)
        }
    }

    /// A linear chart whose layout is computed by hand from the documented layout rules:
    /// title → legend top 40, one legend row → plot top 40 + 20 + 14 = 74; plot bottom 440 - 56 = 384
    /// (height 310); y ticks 0…100 step 20 (target 310/55 → 5), widest label "100" = 3 × 7.2 px
    /// → plot left 22 + 13 + 8 + 21.6 + 10 = 74.6; x ticks 0…10 step 2, last label "10" half-width
    /// 7.2 + 10 < 32 → plot right 720 - 32 = 688 (width 613.4).
    @Test func linearPointsMapToHandComputedPixels() throws {
        let chart = LineChart(
            title: "Linear", xLabel: "x", yLabel: "y",
            series: [Series(name: "s", points: [(0, 0), (2.5, 20), (5, 50), (10, 100)])])
        let nodes = try #require(parseSVG(chart.svg()))
        let area = try #require(nodes.first { $0.attributes["id"] == "plot-area" })
        #expect(area.number("x") == 74.6)
        #expect(area.number("y") == 74)
        #expect(area.number("width") == 613.4)
        #expect(area.number("height") == 310)
        #expect(nodes.texts("tick-label", in: "y-ticks") == ["0", "20", "40", "60", "80", "100"])
        #expect(nodes.texts("tick-label", in: "x-ticks") == ["0", "2", "4", "6", "8", "10"])
        let pts = polylinePoints(try #require(nodes.elements("polyline", cssClass: "line").first))
        // x = 74.6 + x/10 × 613.4, y = 384 - y/100 × 310, rounded to 0.01 px.
        let expected: [(Double, Double)] = [(74.6, 384), (227.95, 322), (381.3, 229), (688, 74)]
        #expect(pts.count == expected.count)
        for (p, e) in zip(pts, expected) {
            #expect(abs(p.0 - e.0) <= 0.005 && abs(p.1 - e.1) <= 0.005, "got \(p), expected \(e)")
        }
        let circles = nodes.elements("circle", cssClass: "marker").filter { $0.inside("series") }
        #expect(circles.map { $0.number("cx")! } == expected.map(\.0))
        #expect(circles.map { $0.number("cy")! } == expected.map(\.1))
    }

    @Test func logScaleSkipsZeroAndNegativeValues() throws {
        let chart = LineChart(
            title: "Log", xLabel: "x", yLabel: "y", xScale: .log2, yScale: .log10,
            series: [
                Series(name: "a", points: [(1, 10), (2, 20), (4, 0), (8, -1), (16, 50), (32, 100)]),
                Series(name: "b", points: [(0, 30), (-4, 30), (64, 40)]),
            ])
        let svg = chart.svg()
        let nodes = try #require(parseSVG(svg))
        let lines = nodes.elements("polyline", cssClass: "line")
        #expect(lines.map { polylinePoints($0).count } == [2, 2])  // (1,10)-(2,20) and (16,50)-(32,100)
        // a: 4 valid points; b: only (64, 40) survives (x <= 0 is invalid on log2).
        #expect(nodes.filter { $0.cssClass == "marker" && $0.inside("series") }.count == 5)
        #expect(nodes.texts("tick-label", in: "y-ticks") == ["10", "20", "50", "100"])
        #expect(nodes.texts("tick-label", in: "x-ticks") == ["1", "2", "4", "8", "16", "32", "64"])
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }

    @Test func nonFiniteValuesLeaveGaps() throws {
        let chart = LineChart(
            title: "Gaps", xLabel: "x", yLabel: "y",
            series: [
                Series(name: "g", points: [(0, 1), (1, 2), (2, .nan), (3, 4), (4, .infinity), (5, 6), (6, 7), (.nan, 3)])
            ])
        let svg = chart.svg()
        let nodes = try #require(parseSVG(svg))
        let lines = nodes.elements("polyline", cssClass: "line")
        #expect(lines.map { polylinePoints($0).count } == [2, 2])  // 0-1, (3 alone), 5-6
        #expect(nodes.filter { $0.cssClass == "marker" && $0.inside("series") }.count == 5)
        #expect(nodes.texts("tick-label", in: "y-ticks").last == "7")  // max finite y
        #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"))
    }

    @Test func emptyAndSinglePointChartsRender() throws {
        for series in [[], [Series(name: "empty", points: [DataPoint]())], [Series(name: "nan", points: [(Double.nan, 1)])]] {
            for (xs, ys) in [(AxisScale.linear, AxisScale.linear), (.log2, .log10)] {
                let chart = LineChart(title: "Empty", xLabel: "x", yLabel: "y", xScale: xs, yScale: ys, series: series)
                let nodes = try #require(parseSVG(chart.svg()))
                #expect(nodes.texts("no-data") == ["No data"])
                #expect(nodes.elements("polyline", cssClass: "line").isEmpty)
                #expect(nodes.texts("tick-label", in: "x-ticks").count >= 2)
            }
        }
        for (xs, ys) in [(AxisScale.linear, AxisScale.linear), (.log2, .log10), (.log10, .linear)] {
            let single = LineChart(
                title: "One", xLabel: "x", yLabel: "y", xScale: xs, yScale: ys, xFormatter: .tokens, yFormatter: .seconds,
                series: [Series(name: "s", points: [(65536, 0.25)])])
            let nodes = try #require(parseSVG(single.svg()))
            #expect(nodes.elements("polyline", cssClass: "line").isEmpty)
            #expect(nodes.filter { $0.cssClass == "marker" && $0.inside("series") }.count == 1)
            #expect(nodes.texts("no-data").isEmpty)
            let area = try #require(nodes.first { $0.attributes["id"] == "plot-area" })
            let marker = try #require(nodes.first { $0.cssClass == "marker" && $0.inside("series") })
            let cx = try #require(marker.number("cx")), cy = try #require(marker.number("cy"))
            #expect(cx >= area.number("x")! && cx <= area.number("x")! + area.number("width")!)
            #expect(cy >= area.number("y")! && cy <= area.number("y")! + area.number("height")!)
        }
    }

    @Test func extremeMagnitudesStayFinite() throws {
        let cases: [(AxisScale, [(x: Double, y: Double)])] = [
            (.log10, [(1, 1e-300), (2, 1e300)]),
            (.linear, [(1, -1e308), (2, 1e308)]),
            (.linear, [(1, Double.leastNonzeroMagnitude), (2, 2 * Double.leastNonzeroMagnitude)]),
            (.linear, [(1, 1e15), (2, 1e15 + 1)]),
        ]
        for (scale, points) in cases {
            let chart = LineChart(
                title: "Extreme", xLabel: "x", yLabel: "y", yScale: scale, series: [Series(name: "e", points: points)],
                yIncludesZero: false)
            let svg = chart.svg()
            let nodes = try #require(parseSVG(svg), "not XML for \(points)")
            #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"), "\(points)")
            #expect(nodes.elements("polyline", cssClass: "line").count == 1)
            #expect(nodes.texts("tick-label", in: "y-ticks").count >= 2)
        }
    }

    @Test func linearTokenAxisStepsByPowersOfTwo() throws {
        let chart = LineChart(
            title: "KV cache", xLabel: "Context length (tokens)", yLabel: "KV cache per host",
            xFormatter: .tokens, yFormatter: .bytes,
            series: [Series(name: "Star", xs: Self.contexts, ys: Self.contexts.map { $0 * 18432 })])
        let nodes = try #require(parseSVG(chart.svg()))
        let xTicks = nodes.texts("tick-label", in: "x-ticks")
        #expect(xTicks == ["0", "128K", "256K", "384K", "512K", "640K", "768K", "896K", "1M"])
        #expect(nodes.texts("tick-label", in: "y-ticks") == ["0", "5 GB", "10 GB", "15 GB", "20 GB"].map { $0 == "0" ? "0 B" : $0 })
    }

    @Test func log10TokenAxisUsesPowersOfTwo() throws {
        let chart = LineChart(
            title: "TTFT", xLabel: "Context (tokens)", yLabel: "TTFT", xScale: .log10, xFormatter: .tokens,
            yFormatter: .seconds, series: [Series(name: "a", points: [(1000, 0.0004), (10000, 0.0013), (100_000, 0.0021)])])
        let nodes = try #require(parseSVG(chart.svg()))
        let ticks = nodes.texts("tick-label", in: "x-ticks")
        // 1000 … 100000 tokens → domain 2^9 … 2^17; 8 powers fit without thinning (target 6 + 4).
        #expect(ticks == ["512", "1K", "2K", "4K", "8K", "16K", "32K", "64K", "128K"])
        #expect(nodes.texts("tick-label", in: "y-ticks") == ["0 s", "500 µs", "1 ms", "1.5 ms", "2 ms", "2.5 ms"])
    }

    @Test func wideLog2RangeThinsToAlignedPowers() throws {
        let xs = (0...20).map { Double(1 << $0) }
        let chart = LineChart(
            title: "Wide", xLabel: "Context (tokens)", yLabel: "y", xScale: .log2, xFormatter: .tokens,
            series: [Series(name: "a", xs: xs, ys: xs.map { $0.squareRoot() })])
        let nodes = try #require(parseSVG(chart.svg()))
        // 21 powers are too many labels for ~600 px: every other one, aligned so that 1K and 1M appear.
        #expect(
            nodes.texts("tick-label", in: "x-ticks")
                == ["1", "4", "16", "64", "256", "1K", "4K", "16K", "64K", "256K", "1M"])
    }

    @Test func outputIsDeterministic() {
        let a = Self.projectionChart().svg()
        let b = Self.projectionChart().svg()
        #expect(a == b)
        #expect(a.utf8.count > 1000)
        var changed = Self.projectionChart()
        changed.series[0].points[3].y *= 1.5
        #expect(changed.svg() != a)
    }

    @Test func everyTextIsEscaped() throws {
        let title = "Latency <&> \"quoted\" 'single' \u{1}"
        let chart = LineChart(
            title: title, xLabel: "x < y", yLabel: "a & b",
            series: [Series(name: "<script>&amp;", points: [(1, 1), (2, 2)])])
        let svg = chart.svg()
        #expect(!svg.contains("<&>") && !svg.contains("<script>"))
        let nodes = try #require(parseSVG(svg))
        #expect(nodes.texts("title") == ["Latency <&> \"quoted\" 'single' \u{FFFD}"])
        #expect(nodes.texts("legend-label") == ["<script>&amp;"])
        #expect(nodes.texts("axis-label") == ["x < y", "a & b"])
        #expect(nodes.first { $0.cssClass == "series" }?.attributes["data-name"] == "<script>&amp;")
    }

    @Test func writeCreatesParentDirectories() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plots-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a/b/chart.svg").path
        let chart = Self.projectionChart()
        try chart.write(to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == chart.svg())
        // A regular file where a directory is needed: a PlotError naming the path.
        let blocked = dir.appendingPathComponent("a/b/chart.svg/inner.svg").path
        #expect(throws: PlotError.self) { try chart.write(to: blocked) }
        do {
            try chart.write(to: blocked)
        } catch let error as PlotError {
            #expect(error.description.contains("chart.svg"))
        }
    }
}
