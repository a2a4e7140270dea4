import Cluster
import Foundation
import Plots

/// One self-contained HTML file (inline SVG, CSS and JS; no network access) that shows runs:
/// a summary table, then per run a lane per host and per busy link on a shared time axis with
/// phases coloured, messages as arrows with their bytes, the critical path highlighted, details on
/// hover or click, the bytes each host sent each other host, and memory per host over time.
///
/// Written by `run --html`, `project --html`; built from ``TimelineLayout``s (folded for big runs).
/// The first line after the doctype carries StarSim's generator mark, so a later run may replace the
/// file and nothing else.
///
/// DOM contract (the browser test relies on it): one `g.lane.host` per host and one `g.lane.link`
/// per link that carried bytes in each `section.run`; one `line.arrow` per drawn message, whose
/// `data-n` is how many messages it stands for; `body[data-ready]` is set when the script ran and
/// `body[data-errors]` lists script errors.
public struct HTMLReport: Sendable {
    public struct Section: Sendable {
        public var title: String
        /// Lines shown under the title (answers, figures, what to look at).
        public var notes: [String]
        public var layout: TimelineLayout
        public init(title: String, notes: [String] = [], layout: TimelineLayout) {
            self.title = title
            self.notes = notes
            self.layout = layout
        }
    }

    public var title: String
    /// Lines under the title (scenario, model, prompt).
    public var lines: [String]
    /// The summary table: the first row is the header.
    public var summary: [[String]]
    public var sections: [Section]
    /// All sections on one time scale (methods of one run compare by length); otherwise each its own.
    public var sharedAxis: Bool

    public init(title: String, lines: [String] = [], summary: [[String]] = [], sections: [Section], sharedAxis: Bool) {
        self.title = title
        self.lines = lines
        self.summary = summary
        self.sections = sections
        self.sharedAxis = sharedAxis
    }

    // MARK: Drawing constants (px)

    static let width = 1200.0
    static let labelWidth = 170.0
    static var plotWidth: Double { width - labelWidth - 20 }
    static let laneHeight = 18.0
    static let laneGap = 4.0
    static let axisHeight = 22.0
    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f"]

    /// The whole document.
    public func render() -> String {
        let phases = Array(Set(sections.flatMap { s in s.layout.lanes.flatMap { $0.bars.map(\.phase.name) } })).sorted()
        let phaseClass = Dictionary(uniqueKeysWithValues: phases.enumerated().map { ($1, "p\($0 % Self.palette.count)") })
        let axisEnd = sections.map(\.layout.finish.nanoseconds).max() ?? 0
        var out = "<!DOCTYPE html>\n\(SVGGenerator.mark)\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out += "<title>\(e(title))</title>\n<style>\n\(Self.css(phases: phases))</style>\n</head>\n<body>\n"
        out += "<header><h1>\(e(title))</h1>\n"
        for line in lines { out += "<p>\(e(line))</p>\n" }
        out += "</header>\n"
        if summary.count > 1 {
            out += "<h2>Summary</h2>\n" + Self.table(summary)
        }
        out += "<div id=\"legend\">"
        for name in phases {
            out += "<span class=\"key \(phaseClass[name]!)\">\(e(name.isEmpty ? "(no phase)" : name))</span>"
        }
        out += "<span class=\"key crit-key\">critical path</span>"
        out += "<label><input type=\"checkbox\" id=\"crit\" checked> highlight the critical path</label></div>\n"
        out += "<div id=\"detail\">Point at a bar or an arrow for details; click to keep them.</div>\n"
        for (i, section) in sections.enumerated() {
            let end = sharedAxis ? axisEnd : section.layout.finish.nanoseconds
            out += section.html(index: i, axisEnd: max(1, end), phaseClass: phaseClass)
        }
        out += "<footer>Written by starsim \(e(StarSimVersion.current)). Simulated time; one file, no network access.</footer>\n"
        out += "<script>\n\(Self.script)</script>\n</body>\n</html>\n"
        return out
    }

    static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var out = "<table class=\"summary\"><thead><tr>"
        for h in header { out += "<th>\(e(h))</th>" }
        out += "</tr></thead><tbody>\n"
        for row in rows.dropFirst() {
            out += "<tr>"
            for cell in row { out += "<td>\(e(cell))</td>" }
            out += "</tr>\n"
        }
        return out + "</tbody></table>\n"
    }

    static func css(phases: [String]) -> String {
        var css = """
            body{font-family:Helvetica,Arial,sans-serif;margin:16px;color:#222;max-width:1240px}
            h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:18px 0 6px}h3{font-size:14px;margin:12px 0 4px}
            p{margin:2px 0;font-size:13px}header p{color:#444}
            table{border-collapse:collapse;font-size:12px;margin:4px 0}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
            th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
            #legend{font-size:12px;margin:10px 0;position:sticky;top:0;background:#fff;padding:4px 0;z-index:2}
            .key{display:inline-block;padding:1px 6px;margin-right:6px;color:#fff;border-radius:3px}
            .crit-key{background:#fff;color:#c00;border:2px solid #c00}
            #detail{position:sticky;top:28px;z-index:2;background:#fffbe6;border:1px solid #e5d89a;font-size:12px;padding:4px 8px;min-height:16px}
            #detail.pinned{border-color:#c00}
            svg{display:block;margin:6px 0}svg text{font-size:11px;fill:#333}
            .b{stroke:none}.b.crit{stroke:#c00;stroke-width:1.5}
            body.hidecrit .b.crit{stroke:none}body.hidecrit .arrow.crit{stroke:#666}
            .arrow{stroke:#666;stroke-width:1;opacity:.75}.arrow.crit{stroke:#c00;opacity:1;stroke-width:1.5}
            .arrow:hover,.b:hover{opacity:1;stroke:#000;stroke-width:2}
            .lanebg{fill:#f7f7f7}.tick{stroke:#ddd}
            footer{margin-top:20px;font-size:11px;color:#777}

            """
        for (i, _) in phases.enumerated() {
            let color = palette[i % palette.count]
            css += ".p\(i % palette.count){fill:\(color);background:\(color)}\n"
        }
        return css
    }

    static let script = """
        (function(){
        var errors=[];
        window.addEventListener('error',function(ev){errors.push(String(ev.message));document.body.setAttribute('data-errors',errors.join(' | '));});
        var panel=document.getElementById('detail');var pinned=false;
        function detail(t){var d=t&&t.getAttribute?t.getAttribute('data-d'):null;return d;}
        document.addEventListener('mouseover',function(ev){if(pinned)return;var d=detail(ev.target);if(d)panel.textContent=d;});
        document.addEventListener('click',function(ev){var d=detail(ev.target);if(d){pinned=true;panel.textContent=d;panel.className='pinned';}else{pinned=false;panel.className='';}});
        var box=document.getElementById('crit');
        box.addEventListener('change',function(){document.body.classList.toggle('hidecrit',!box.checked);});
        var arrows=document.querySelectorAll('line.arrow').length,lanes=document.querySelectorAll('g.lane').length;
        document.body.setAttribute('data-arrows',String(arrows));document.body.setAttribute('data-lanes',String(lanes));
        document.body.setAttribute('data-ready','1');
        })();

        """
}

private func e(_ s: String) -> String { Markup.escape(s) }

extension HTMLReport.Section {
    /// One run: title, notes, the lanes and arrows, the bytes matrix and the memory chart.
    func html(index: Int, axisEnd: Int64, phaseClass: [String: String]) -> String {
        let l = layout
        var out = "<section class=\"run\" id=\"run\(index)\">\n<h2>\(e(title))</h2>\n"
        for note in notes { out += "<p>\(e(note))</p>\n" }
        let hostLanes = l.lanes.filter { $0.kind == .host }
        let linkLanes = l.lanes.filter { $0.kind == .link }
        out += "<p>\(hostLanes.count) hosts, \(linkLanes.count) busy links, \(l.messageCount) messages; "
            + "finishes at \(e(SimDuration(nanoseconds: l.finish.nanoseconds).description)). "
            + "\(e(l.criticalSummary.prefix(1).uppercased() + l.criticalSummary.dropFirst()))</p>\n"
        if l.folded {
            out += "<p><em>Folded to stay readable: bars and arrows group the records of one phase that start within "
                + "\(e(l.binWidth.description)) of each other (hover a bar for how many).</em></p>\n"
        }
        out += timeline(axisEnd: axisEnd, phaseClass: phaseClass)
        out += "<h3>Bytes sent, host to host</h3>\n" + bytesMatrix()
        out += "<h3>Memory in use per host</h3>\n" + memoryChart(axisEnd: axisEnd)
        return out + "</section>\n"
    }

    private func timeline(axisEnd: Int64, phaseClass: [String: String]) -> String {
        let l = layout
        let W = HTMLReport.width, left = HTMLReport.labelWidth, plot = HTMLReport.plotWidth
        let lh = HTMLReport.laneHeight, gap = HTMLReport.laneGap, top = HTMLReport.axisHeight
        let height = top + Double(l.lanes.count) * (lh + gap) + 8
        func x(_ t: SimInstant) -> Double { left + plot * Double(t.nanoseconds) / Double(axisEnd) }
        func y(_ lane: Int) -> Double { top + Double(lane) * (lh + gap) }
        var out = "<svg class=\"timeline\" width=\"\(Markup.px(W))\" height=\"\(Markup.px(height))\" "
            + "viewBox=\"0 0 \(Markup.px(W)) \(Markup.px(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        out += "<defs><marker id=\"ah\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"6\" markerHeight=\"6\" "
            + "orient=\"auto\"><path d=\"M0,0L6,3L0,6z\" fill=\"#555\"/></marker></defs>\n"
        for (tick, text) in Self.ticks(axisEnd) {
            let tx = left + plot * Double(tick) / Double(axisEnd)
            out += "<line class=\"tick\" x1=\"\(Markup.px(tx))\" y1=\"\(Markup.px(top - 4))\" x2=\"\(Markup.px(tx))\" "
                + "y2=\"\(Markup.px(height - 8))\"/><text x=\"\(Markup.px(tx + 2))\" y=\"12\">\(e(text))</text>\n"
        }
        var hostRow: [String: Int] = [:]
        for (i, lane) in l.lanes.enumerated() {
            if lane.kind == .host { hostRow[lane.name] = i }
            out += "<g class=\"lane \(lane.kind.rawValue)\" data-name=\"\(e(lane.name))\">"
            out += "<rect class=\"lanebg\" x=\"\(Markup.px(left))\" y=\"\(Markup.px(y(i)))\" width=\"\(Markup.px(plot))\" height=\"\(Markup.px(lh))\"/>"
            out += "<text x=\"4\" y=\"\(Markup.px(y(i) + lh - 5))\">\(e(lane.kind == .link ? "link " + lane.name : lane.name))</text>\n"
            for bar in lane.bars {
                let x0 = x(bar.start), w = max(0.5, x(bar.end) - x0)
                let cls = "b " + (phaseClass[bar.phase.name] ?? "p0") + (bar.critical ? " crit" : "")
                var d = "\(lane.name) · \(bar.label) · \(bar.phase.name.isEmpty ? "no phase" : bar.phase.name) · "
                    + "\(SimDuration(nanoseconds: bar.start.nanoseconds)) → \(SimDuration(nanoseconds: bar.end.nanoseconds)) "
                    + "(\(bar.end - bar.start)"
                if bar.count > 1 { d += ", busy \(bar.busy)" }
                d += ")"
                if bar.bytes > 0 { d += " · \(formatBytes(bar.bytes))" }
                if bar.critical { d += " · on the critical path" }
                out += "<rect class=\"\(cls)\" x=\"\(Markup.px(x0))\" y=\"\(Markup.px(y(i) + 2))\" width=\"\(Markup.px(w))\" "
                    + "height=\"\(Markup.px(lh - 4))\" data-d=\"\(e(d))\"/>\n"
            }
            out += "</g>\n"
        }
        let hostNames = Dictionary(l.hosts.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        out += "<g class=\"arrows\">\n"
        for a in l.arrows {
            guard let fromName = hostNames[a.from], let toName = hostNames[a.to],
                  let r0 = hostRow[fromName], let r1 = hostRow[toName] else { continue }
            let y0 = y(r0) + lh / 2, y1 = y(r1) + lh / 2
            var d = "\(fromName) → \(toName) · \(a.label) · \(formatBytes(a.bytes)) · sent \(SimDuration(nanoseconds: a.sent.nanoseconds)), "
                + "delivered \(SimDuration(nanoseconds: a.delivered.nanoseconds)) (\(a.delivered - a.sent))"
            if !a.route.isEmpty { d += " · over " + a.route.map(\.description).joined(separator: ", ") }
            if a.critical { d += " · on the critical path" }
            out += "<line class=\"arrow\(a.critical ? " crit" : "")\" data-n=\"\(a.count)\" data-bytes=\"\(a.bytes)\" "
                + "x1=\"\(Markup.px(x(a.sent)))\" y1=\"\(Markup.px(y0))\" x2=\"\(Markup.px(x(a.delivered)))\" y2=\"\(Markup.px(y1))\" "
                + "marker-end=\"url(#ah)\" data-d=\"\(e(d))\"/>\n"
        }
        return out + "</g>\n</svg>\n"
    }

    private func bytesMatrix() -> String {
        let names = layout.hosts.map(\.name)
        var rows = [["from \\ to"] + names]
        for (i, name) in names.enumerated() {
            rows.append([name] + layout.bytesBetween[i].map { $0 == 0 ? "·" : formatBytes($0) })
        }
        return HTMLReport.table(rows)
    }

    private func memoryChart(axisEnd: Int64) -> String {
        let l = layout
        let W = HTMLReport.width, left = HTMLReport.labelWidth, plot = HTMLReport.plotWidth, h = 120.0, top = 10.0
        // From the lowest to the highest value in use (the weights would flatten the changes otherwise).
        let all = l.memory.flatMap { $0.map(\.bytes) }
        let peak = max(1, all.max() ?? 1)
        let low = min(all.min() ?? 0, peak - 1)
        let height = top + h + 24 + 16 * Double((l.hosts.count + 5) / 6)
        var out = "<svg class=\"memory\" width=\"\(Markup.px(W))\" height=\"\(Markup.px(height))\" "
            + "viewBox=\"0 0 \(Markup.px(W)) \(Markup.px(height))\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        out += "<rect class=\"lanebg\" x=\"\(Markup.px(left))\" y=\"\(Markup.px(top))\" width=\"\(Markup.px(plot))\" height=\"\(Markup.px(h))\"/>\n"
        out += "<text x=\"4\" y=\"\(Markup.px(top + 10))\">\(e(formatBytes(Int(peak))))</text>"
            + "<text x=\"4\" y=\"\(Markup.px(top + h))\">\(e(formatBytes(Int(low))))</text>\n"
        for (i, points) in l.memory.enumerated() where !points.isEmpty {
            let color = HTMLReport.palette[i % HTMLReport.palette.count]
            var path = ""
            for p in points {
                let px = left + plot * Double(p.at.nanoseconds) / Double(axisEnd)
                let py = top + h - h * Double(p.bytes - low) / Double(peak - low)
                path += path.isEmpty ? "M\(Markup.px(px)),\(Markup.px(py))" : "H\(Markup.px(px))V\(Markup.px(py))"
            }
            path += "H\(Markup.px(left + plot * Double(l.finish.nanoseconds) / Double(axisEnd)))"
            let name = l.hosts[i].name
            out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\" "
                + "data-d=\"\(e("\(name): peak \(formatBytes(Int(points.map(\.bytes).max() ?? 0)))"))\"/>\n"
            let lx = left + Double(i % 6) * 160, ly = top + h + 18 + 16 * Double(i / 6)
            out += "<rect x=\"\(Markup.px(lx))\" y=\"\(Markup.px(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(color)\"/>"
                + "<text x=\"\(Markup.px(lx + 14))\" y=\"\(Markup.px(ly))\">\(e(name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// About eight round ticks (the charts' 1, 2 or 5 × 10^k ns steps) over `[0, end]`, in time units.
    static func ticks(_ end: Int64) -> [(Int64, String)] {
        guard end > 0 else { return [] }
        let step = max(1, Int64(Markup.niceStep(span: Double(end), target: 8)))
        var out: [(Int64, String)] = []
        var t: Int64 = 0
        while t <= end {
            out.append((t, SimDuration(nanoseconds: t).description))
            t += step
        }
        return out
    }
}

/// Where `--html` writes: one file the user named, checked before any work and written through
/// ``OutputDirectory`` (its directory), so the same rules hold as for traces and charts — a file
/// StarSim did not write is never replaced without `--force`, and an input of the run (the scenario,
/// a faults file) is never replaced at all.
public struct HTMLReportFile: Sendable {
    public var path: String
    public var force: Bool
    /// Files the run reads; the report may not be one of them, even with `--force`.
    public var inputs: [String]

    /// Most configurations `project --html` draws (each keeps its folded timeline in memory).
    public static let maxConfigurations = 32

    public init(path: String, force: Bool = false, inputs: [String] = []) {
        self.path = path
        self.force = force
        self.inputs = inputs
    }

    var directory: OutputDirectory {
        let dir = (path as NSString).deletingLastPathComponent
        return OutputDirectory(dir.isEmpty ? "." : dir, option: "--html", force: force)
    }

    var name: String { (path as NSString).lastPathComponent }

    /// Everything that would make the write fail, before the run.
    /// - Throws: ``StarSimError`` naming `--html`, the path and the cause.
    public func check() throws(StarSimError) {
        guard !path.isEmpty else { throw .invalid("--html", "", "a file path") }
        if path.hasSuffix("/") { throw .invalid("--html", "\(path) names a directory; expected a file path such as report.html") }
        let target = Self.resolved(path)
        for input in inputs where Self.resolved(input) == target {
            throw .invalid("--html", "\(path) is \(input), an input of this run; choose another file")
        }
        try directory.check(names: [name])
    }

    /// ``check()``, and that the report draws at most ``maxConfigurations`` runs.
    public func check(drawing runs: Int) throws(StarSimError) {
        guard runs <= Self.maxConfigurations else {
            throw .invalid("--html", "draws at most \(Self.maxConfigurations) configurations; this one has \(runs) (narrow it, or use --csv/--plots)")
        }
        try check()
    }

    /// Writes the report; returns the path written.
    @discardableResult
    public func write(_ report: HTMLReport) throws(StarSimError) -> String {
        try check()
        return try directory.write(report.render(), name: name)
    }

    private static func resolved(_ p: String) -> String {
        URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
