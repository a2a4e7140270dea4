import Foundation
import Plots

/// SVG charts of a projection sweep (`starsim project --plots DIR`).
public enum CapacityPlots {
    /// Series key: everything but the method and the context, so that one line = one method on one
    /// cluster for one model.
    static func seriesName(_ r: ProjectionResult, withMethod: Bool = true) -> String {
        let c = r.config
        return (withMethod ? c.method.rawValue + " " : "") + "\(c.model.name) \(c.effectiveHosts)x\(c.gpusPerHost)"
    }

    /// The files ``write(_:to:)`` writes, in order.
    public static let fileNames = ["time-vs-context.svg", "speedup-vs-context.svg", "bytes-per-host.svg"]

    /// Writes `time-vs-context.svg` (total seconds per method, log–log), `speedup-vs-context.svg`
    /// (each method's speedup over `baseline`, default ring or the first method) and
    /// `bytes-per-host.svg` (largest bytes sent by one host, per context and method).
    /// - Returns: the paths written.
    /// - Throws: ``StarSimError`` naming the path and the cause.
    @discardableResult
    public static func write(_ table: CapacityTable, to directory: OutputDirectory) throws(StarSimError) -> [String] {
        try directory.check(names: fileNames)
        let ok = table.results.filter { $0.totalTime != nil }
        var paths: [String] = []

        func lines(_ y: (ProjectionResult) -> Double?) -> [Series] {
            var order: [String] = []
            var points: [String: [(x: Double, y: Double)]] = [:]
            for r in ok {
                guard let v = y(r) else { continue }
                let k = seriesName(r)
                if points[k] == nil { order.append(k) }
                points[k, default: []].append((Double(r.config.contextLength), v))
            }
            return order.map { Series(name: $0, points: points[$0]!.sorted { $0.x < $1.x }) }
        }

        let time = LineChart(
            title: "Projected time per sample (to last token) vs context", xLabel: "context tokens",
            yLabel: "seconds", xScale: .log2, yScale: .log10, xFormatter: .tokens, yFormatter: .seconds,
            series: lines { $0.totalTime }, yIncludesZero: false)
        paths.append(try directory.write(time.svg(), name: fileNames[0]))

        let baseline = table.methods.contains(.ring) ? MethodKind.ring : table.methods.first ?? .ring
        let speed = LineChart(
            title: "Speedup over \(baseline.rawValue) (total time)", xLabel: "context tokens", yLabel: "speedup",
            xScale: .log2, xFormatter: .tokens, yFormatter: .ratio,
            series: lines { r in r.config.method == baseline ? nil : table.speedup(of: r, over: baseline) })
        paths.append(try directory.write(speed.svg(), name: fileNames[1]))

        var categories: [String] = []
        for r in ok where !categories.contains(TokenCount.format(r.config.contextLength)) {
            categories.append(TokenCount.format(r.config.contextLength))
        }
        var groupOrder: [String] = []
        var values: [String: [Double]] = [:]
        for r in ok {
            let k = seriesName(r)
            if values[k] == nil { groupOrder.append(k); values[k] = Array(repeating: .nan, count: categories.count) }
            let i = categories.firstIndex(of: TokenCount.format(r.config.contextLength))!
            values[k]![i] = Double(r.hostBytes.reduce(into: [String: Int]()) { $0[$1.name, default: 0] += $1.bytes }.values.max() ?? 0)
        }
        let bars = BarChart(
            title: "Bytes sent by the busiest host (all phases)", xLabel: "context", yLabel: "bytes",
            categories: categories, groups: groupOrder.map { BarGroup(name: $0, values: values[$0]!) },
            yFormatter: .bytes, showValues: false)
        paths.append(try directory.write(bars.svg(), name: fileNames[2]))
        return paths
    }
}
