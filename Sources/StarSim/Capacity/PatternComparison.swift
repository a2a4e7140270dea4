import ConfigFiles
import Cluster
import DistributedAttention
import Foundation
import Plots

/// `starsim compare`: communication patterns side by side at each context length on one cluster —
/// TTFT, time per output token, bytes per host per phase, the busiest link, peak memory per host,
/// exact or approximate — with one short verdict per row that explains it from the numbers
/// (compute- or link-bound on the critical path, causal imbalance in prefill, memory, the query
/// host's fan-in in decode), and an SVG of TTFT against context per pattern.
///
/// A pattern is a prefill method with its phase-2 merge: `star`, `star+tree`, `ring-zigzag+all-gather`
/// (`MethodKind` + `Phase2Pattern`). Projections go through the same programs, scheduler and cost
/// model as `project` (``CapacityProjection``).
public struct PatternComparison: Sendable {
    /// A prefill method and its phase-2 merge.
    public struct Pattern: Sendable, Hashable, CustomStringConvertible {
        public var method: MethodKind
        public var phase2: Phase2Pattern
        public init(method: MethodKind, phase2: Phase2Pattern = .gatherBroadcast) {
            self.method = method
            self.phase2 = phase2
        }
        /// `star`, `star+tree`.
        public var description: String { method.rawValue + (phase2 == .gatherBroadcast ? "" : "+\(phase2.rawValue)") }
        /// Exact patterns equal global attention; Star's phase 1 is approximate.
        public var isExact: Bool {
            switch method {
            case .star, .starNoAnchor, .starPrevious, .apb: false
            default: true
            }
        }

        /// `METHOD[+PHASE2]`; errors name `field`, the text and the known names.
        public static func parse(_ text: String, field: String = "--patterns") throws(StarSimError) -> Pattern {
            let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "+", maxSplits: 1).map(String.init)
            guard let first = parts.first, !first.isEmpty else { throw .invalidValue(field, text, "a pattern such as star, ring-zigzag or star+tree") }
            let method = try MethodKind.parse(first, field: field)
            guard parts.count == 2 else { return Pattern(method: method) }
            guard let phase2 = Phase2Pattern(rawValue: parts[1].lowercased()) else {
                throw .invalidValue(field, text, "METHOD+PHASE2 with PHASE2 one of " + Phase2Pattern.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if method == .global { throw .invalidValue(field, text, "a multi-host method before '+' (global has no phase-2 merge)") }
            if method == .ulysses || method == .usp {
                throw .invalidValue(field, text, "\(method.rawValue) without '+\(phase2.rawValue)': it decodes head-parallel, with no phase-2 merge to choose")
            }
            return Pattern(method: method, phase2: phase2)
        }

        /// A comma-separated list, without repeats.
        public static func parseList(_ text: String, field: String = "--patterns") throws(StarSimError) -> [Pattern] {
            var out: [Pattern] = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                let p = try parse(String(part), field: field)
                if out.contains(p) { throw .invalidValue(field, String(part), "each pattern once") }
                out.append(p)
            }
            guard !out.isEmpty else { throw .invalidValue(field, text, "at least one pattern") }
            return out
        }
    }

    /// The patterns compared when none are named: the exact prefill patterns engines ship, Star, and
    /// Star with tree decoding.
    public static let defaultPatterns = "star,star+tree,ring,ring-zigzag,allgather-zigzag"

    public struct Row: Sendable {
        public var pattern: Pattern
        public var result: ProjectionResult
        public var verdict: String
    }

    public var rows: [Row]

    /// The patterns compared with a cached prefix (`--cached`): Star encodes its whole context.
    public static let defaultCachedPatterns = "ring-zigzag,ring-zigzag-passq,allgather-zigzag"

    /// A comparison written in a file: its `compare:` section — the sweep fields of a sweep file
    /// (`model`, `context`, `hosts`, `gpus_per_host`, `device`, `intra_link`, `inter_link`, `combine`,
    /// `generate` (default 16 here), `query`, `faults`, …; `Docs/Sweeps.md`) plus `patterns:`
    /// (METHOD[+PHASE2], a list or one comma-separated string) and `cached:` (`120K` or `90%`).
    public struct Section: Sendable {
        public var sweep: ProjectionSweep
        public var patterns: [Pattern]
        /// The sweep's cached prefix.
        public var cached: CachedPrefix? { sweep.cached }

        /// The `compare:` section of `file`, or nil when the file has none.
        /// - Throws: ``StarSimError`` naming the file, field and line.
        public static func load(file: String) throws(StarSimError) -> Section? {
            do throws(ConfigError) {
                let root = try ConfigNode.load(file: file)
                guard let node = root.optional("compare") else { return nil }
                return try parse(node)
            } catch {
                throw .failed(error.description)
            }
        }

        /// Reads a `compare:` mapping (strict: unknown fields are errors).
        public static func parse(_ node: ConfigNode) throws(ConfigError) -> Section {
            guard node.isMapping else {
                throw node.error("expected a mapping of comparison settings (model, context, hosts, patterns, …), found \(node.kind)")
            }
            if node.has("methods") {
                throw node.error("a comparison names its 'patterns' (METHOD[+PHASE2], e.g. star, ring-zigzag+tree), not methods", field: "methods")
            }
            let cached = node.has("cached")
            var text = cached ? defaultCachedPatterns : defaultPatterns
            if let p = node.optional("patterns") {
                text = try (p.isList ? p.asList() : [p]).map { n throws(ConfigError) in try n.asString(expected: "a pattern such as star+tree") }
                    .joined(separator: ",")
            }
            let patterns: [Pattern]
            do { patterns = try Pattern.parseList(text, field: node.path + ".patterns") } catch { throw node.error(error.description, field: "patterns") }
            if cached, let why = patterns.lazy.compactMap({ CachedPrefix.unsupported(by: $0.method) }).first {
                throw node.error("\(why): with 'cached' every pattern must be a ring", field: "patterns")
            }
            let generate = node.has("generate")
            var sweep = try ProjectionSweep.parse(node, methods: uniquedMethods(patterns))
            if !generate { sweep.generate = 16 }
            return Section(sweep: sweep, patterns: patterns)
        }
    }

    /// The methods of `patterns`, each once, in order: a comparison's sweep methods.
    public static func uniquedMethods(_ patterns: [Pattern]) -> [MethodKind] {
        var seen = Set<MethodKind>()
        return patterns.map(\.method).filter { seen.insert($0).inserted }
    }

    /// Projects every pattern at every context of `base` (its hosts, GPUs, device and links; its
    /// methods and phase-2 pattern are replaced by `patterns`), keeping the breakdown the verdicts need.
    /// With `base.cached`, each context's first tokens are in the hosts' KV cache already (ring patterns only).
    public init(base: ProjectionSweep, patterns: [Pattern], parallel: Bool = true,
                progress: (@Sendable (Int, Int) -> Void)? = nil) {
        let rows = Self.configurations(base: base, patterns: patterns)
        let results = CapacityProjection.sweep(rows.map(\.1), parallel: parallel, timelines: true, progress: progress)
        self.init(results: zip(rows.map(\.0), results).map { ($0, $1) })
    }

    /// Every (pattern, configuration) the comparison projects: each pattern at each point of `base`'s
    /// contexts × hosts × GPUs (one row per pattern, whatever `base.methods` holds).
    public static func configurations(base: ProjectionSweep, patterns: [Pattern]) -> [(Pattern, ProjectionConfig)] {
        base.configs().filter { $0.method == base.methods.first }.flatMap { config in
            patterns.map { p in
                var c = config
                c.method = p.method
                c.phase2 = p.phase2
                c.cachedLength = p.method.isRing ? base.cached.map { $0.tokens(of: c.contextLength) } : nil
                return (p, c)
            }
        }
    }

    /// Rows from finished projections (verdicts computed here).
    public init(results: [(Pattern, ProjectionResult)]) {
        rows = results.map { Row(pattern: $0.0, result: $0.1, verdict: "") }
        for i in rows.indices { rows[i].verdict = Self.verdict(i, in: rows) }
    }

    // MARK: Verdicts

    /// One short explanation of row `i` from the numbers of the rows at the same context and cluster.
    static func verdict(_ i: Int, in rows: [Row]) -> String {
        let row = rows[i], r = row.result, c = r.config
        switch r.status {
        case .outOfMemory(let m): return "does not fit in memory: \(m)"
        case .failed(let m): return "failed: \(m)"
        case .ok: break
        }
        let peers = rows.filter {
            $0.result.config.contextLength == c.contextLength && $0.result.config.hosts == c.hosts
                && $0.result.config.gpusPerHost == c.gpusPerHost && $0.result.status == .ok
        }
        var parts: [String] = []
        if let ttft = r.timeToFirstToken, let best = peers.compactMap({ p in p.result.timeToFirstToken.map { (p, $0) } }).min(by: { $0.1 < $1.1 }) {
            if ttft <= best.1 * 1.005 {
                let second = peers.compactMap { $0.result.timeToFirstToken }.filter { $0 > ttft * 1.005 }.min()
                parts.append("fastest first token" + (second.map { String(format: " (next: %.2f× its time)", $0 / ttft) } ?? ""))
            } else {
                parts.append(String(format: "first token %.2f× the fastest (%@)", ttft / best.1, best.0.pattern.description))
            }
        }
        if let b = r.breakdown {
            let prefillBytes = Self.prefillBytes(r)
            if b.linkShare >= 0.25 {
                parts.append(String(format: "link-bound: %.0f%% of its critical path is on links (%@ per host in prefill over %@)",
                                    100 * b.linkShare, formatBytes(prefillBytes), c.interHostLink))
            } else {
                parts.append(String(format: "compute-bound: %.0f%% of its critical path is compute", 100 * (1 - b.linkShare))
                    + (prefillBytes > 0 ? " (its \(formatBytes(prefillBytes)) per host of prefill traffic hides under it)" : ""))
            }
            if b.prefillImbalance >= 1.2 {
                let why: String
                switch row.pattern.method {
                case .ring: why = " — causal: later chunks attend to more keys (zigzag evens it)"
                case .star, .starPrevious: why = " — host0 encodes its block alone, the others anchor + block"
                case .apb: why = " — each later host also attends every earlier host's passing block"
                default: why = ""
                }
                parts.append(String(format: "uneven prefill: the busiest host computes %.2f× the mean", b.prefillImbalance) + why)
            }
        }
        if r.hostCapacity > 0 {
            let share = Double(r.peakMemoryPerHost) / Double(r.hostCapacity)
            if share >= 0.8 { parts.append(String(format: "memory: %.0f%% of a host's memory at peak", 100 * share)) }
        }
        // Decode: the same prefill with another merge, when its time per token differs.
        if let tpot = r.timePerOutputToken {
            for other in peers where other.pattern.method == row.pattern.method && other.pattern.phase2 != row.pattern.phase2 {
                guard let o = other.result.timePerOutputToken, o > 0 else { continue }
                if tpot < o * 0.95 {
                    parts.append(String(format: "decode %.0f%% faster per token than %@", 100 * (1 - tpot / o), other.pattern.description)
                        + (row.pattern.phase2 == .tree ? ": the tree takes the fan-in and fan-out off the query host" : ""))
                } else if tpot > o * 1.05, row.pattern.phase2 == .gatherBroadcast, other.pattern.phase2 == .tree {
                    parts.append("decode: the query host's fan-in and fan-out to \(c.effectiveHosts - 1) hosts per layer is the bottleneck")
                } else if tpot > o * 1.05, row.pattern.phase2 == .tree {
                    let steps = Int(ceil(log2(Double(max(2, c.effectiveHosts)))))
                    parts.append(String(format: "decode %.0f%% slower per token than %@: its %d merge levels up and down run in sequence, "
                        + "and here the query host's links are not the bottleneck", 100 * (tpot / o - 1), other.pattern.description, steps))
                }
            }
        }
        if let rule = passQRule(c) { parts.append("Meta's rule picks " + rule.reason) }
        if !row.pattern.isExact {
            // Causal attention over L tokens scores about L²/2 query-key pairs; Star's blocks of b tokens
            // behind an anchor of a score about (L/b)·(a·b + b²/2) = L·(a + b/2).
            if let b = c.effectiveBlock, b > 0 {
                let a = c.method == .starNoAnchor ? 0 : (c.anchorSize ?? b)
                let ratio = Double(c.contextLength) / Double(2 * a + b)
                if ratio >= 1.5 {
                    parts.append(String(format: "about %.1f× fewer attention pairs than exact causal attention (L/(2a+b) with blocks of %@ and anchor %@)",
                                        ratio, TokenCount.format(b), TokenCount.format(a)))
                }
            }
            parts.append(row.pattern.method == .apb
                ? "approximate (each block sees a smaller anchor, the earlier hosts' passing blocks — chosen training-free, SnapKV-style — and itself)"
                : "approximate (phase 1 sees anchor + own block only)")
        }
        return parts.joined(separator: "; ")
    }

    /// Meta's pass-KV / pass-Q rule on this configuration's cluster, for a pass-Q ring and for a pass-KV
    /// ring with a cached prefix (nil for anything else, or a cluster that does not resolve): the host's
    /// peak is its GPUs' when they split layers by tensor parallelism, one GPU's when they pipeline.
    static func passQRule(_ c: ProjectionConfig) -> PassQRule? {
        guard c.method.isRing, let setup = try? c.clusterSetup(), case .ring(let plan)? = try? c.attentionMethod(),
              plan.exchange == .passQ || (plan.exchange == .ring && plan.cachedLength > 0) else { return nil }
        let gpus = setup.combine == .tensorParallel ? c.gpusPerHost : 1
        return PassQRule(
            newTokens: plan.contextLength - plan.cachedLength, cachedTokens: plan.cachedLength, hosts: plan.hosts,
            shape: c.model.shape, flopsPerSecond: setup.device.flopsPerSecond.value * Double(gpus),
            linkBytesPerSecond: setup.topology.interHostLink.bandwidthBytesPerSecond)
    }

    // MARK: Output

    /// The busiest host's bytes in prefill; in decode (query + generation, each phase's busiest);
    /// the busiest link's bytes — the byte columns of the table, CSV and JSON.
    static func prefillBytes(_ r: ProjectionResult) -> Int { CapacityTable.maxHostBytes(r, .contextEncoding) }
    static func decodeBytes(_ r: ProjectionResult) -> Int {
        CapacityTable.maxHostBytes(r, .queryEncoding) + CapacityTable.maxHostBytes(r, .generation)
    }
    static func maxLinkBytes(_ r: ProjectionResult) -> Int { r.linkBytes.map(\.bytes).max() ?? 0 }

    /// Header and one row per (context, pattern).
    public func table() -> [[String]] {
        var out = [["context", "pattern", "exact", "hosts×gpus", "TTFT", "TPOT", "prefill bytes/host", "decode bytes/host",
                    "max link bytes", "peak mem/host", "verdict"]]
        for row in rows {
            let r = row.result, c = r.config
            let ok = r.status == .ok
            let mem = ok ? CapacityTable.bytes(r.peakMemoryPerHost)
                + (r.hostCapacity > 0 ? String(format: " (%.0f%%)", 100 * Double(r.peakMemoryPerHost) / Double(r.hostCapacity)) : "") : r.statusText
            out.append([TokenCount.format(c.contextLength), row.pattern.description, row.pattern.isExact ? "exact" : "approx",
                        CapacityTable.cluster(c), ok ? CapacityTable.seconds(r.timeToFirstToken) : r.statusText,
                        ok ? CapacityTable.seconds(r.timePerOutputToken) : "",
                        ok ? CapacityTable.bytes(Int64(Self.prefillBytes(r))) : "",
                        ok ? CapacityTable.bytes(Int64(Self.decodeBytes(r))) : "",
                        ok ? CapacityTable.bytes(Int64(Self.maxLinkBytes(r))) : "", mem, row.verdict])
        }
        return out
    }

    /// The table for a person: aligned columns, the verdicts under it (they are long).
    public func text() -> String {
        let t = table()
        var out = CapacityTable.align(t.map { Array($0.dropLast()) })
        out += "\n"
        // With several cluster sizes (a scenario's `hosts: [2, 4, 8]`) each verdict names its cluster.
        let sizes = Set(rows.map(\.result.config.hosts)).count > 1
        for (row, cells) in zip(rows, t.dropFirst()) {
            out += "\(cells[0]) \(row.pattern.description)" + (sizes ? " on \(cells[3])" : "") + ": \(row.verdict)\n"
        }
        return out
    }

    /// RFC 4180 CSV with seconds and bytes as numbers.
    public func csv() -> String {
        let header = ["context_tokens", "pattern", "method", "phase2", "exact", "hosts", "gpus_per_host", "status",
                      "ttft_s", "tpot_s", "prefill_bytes_per_host", "decode_bytes_per_host", "max_link_bytes",
                      "peak_memory_per_host_bytes", "host_capacity_bytes", "critical_link_share", "prefill_imbalance", "verdict"]
        let lines: [[String]] = rows.map { row in
            let r = row.result, c = r.config
            func d(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
            return [
                "\(c.contextLength)", row.pattern.description, c.method.rawValue, row.pattern.phase2.rawValue,
                row.pattern.isExact ? "true" : "false", "\(c.effectiveHosts)", "\(c.gpusPerHost)", r.statusText,
                d(r.timeToFirstToken), d(r.timePerOutputToken), "\(Self.prefillBytes(r))", "\(Self.decodeBytes(r))",
                "\(Self.maxLinkBytes(r))", "\(r.peakMemoryPerHost)", "\(r.hostCapacity)",
                d(r.breakdown?.linkShare), d(r.breakdown?.prefillImbalance), row.verdict,
            ]
        }
        return CSV.document(header: header, rows: lines)
    }

    /// JSON: one object per row, keys sorted.
    public func json() -> String {
        let objects: [[String: Any]] = rows.map { row in
            let r = row.result, c = r.config
            return [
                "context_tokens": c.contextLength, "pattern": row.pattern.description, "method": c.method.rawValue,
                "phase2": row.pattern.phase2.rawValue, "exact": row.pattern.isExact, "hosts": c.effectiveHosts,
                "gpus_per_host": c.gpusPerHost, "device": c.device, "status": r.statusText, "message": r.message as Any,
                "ttft_s": r.timeToFirstToken as Any, "tpot_s": r.timePerOutputToken as Any,
                "prefill_bytes_per_host": Self.prefillBytes(r), "decode_bytes_per_host": Self.decodeBytes(r),
                "max_link_bytes": Self.maxLinkBytes(r), "peak_memory_per_host_bytes": r.peakMemoryPerHost,
                "host_capacity_bytes": r.hostCapacity, "critical_link_share": r.breakdown?.linkShare as Any,
                "prefill_imbalance": r.breakdown?.prefillImbalance as Any, "verdict": row.verdict,
            ]
        }
        let data = (try? JSONSerialization.data(withJSONObject: ["rows": objects], options: [.prettyPrinted, .sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The chart's file name in a `--plots` directory (a projected comparison's).
    public static let chartName = "compare-ttft-vs-context.svg"
    /// The chart's file name when it draws TTFT against cluster size.
    public static let hostsChartName = "compare-ttft-vs-hosts.svg"

    /// Whether ``chart()`` draws TTFT against cluster size: one context, several cluster sizes (a real
    /// run of a scenario with `cluster.hosts: [2, 4, 8]`).
    public var chartsHosts: Bool {
        Set(rows.map(\.result.config.contextLength)).count == 1
            && Set(rows.filter { $0.pattern.method != .global }.map(\.result.config.hosts)).count > 1
    }

    /// ``chart()``'s file name: ``chartName`` or ``hostsChartName``.
    public var chartFileName: String { chartsHosts ? Self.hostsChartName : Self.chartName }

    /// TTFT against context, one line per pattern (log–log); against hosts when there is one
    /// context and several cluster sizes (``chartsHosts``; global is drawn at its one host).
    public func chart() -> String {
        let byHosts = chartsHosts
        var order: [String] = []
        var points: [String: [(x: Double, y: Double)]] = [:]
        for row in rows {
            guard let t = row.result.timeToFirstToken else { continue }
            let k = row.pattern.description
            if points[k] == nil { order.append(k) }
            let c = row.result.config
            let x = byHosts ? Double(row.pattern.method == .global ? 1 : c.hosts) : Double(c.contextLength)
            points[k, default: []].append((x, t))
        }
        // The title names the largest cluster (a real run's global row is on one host).
        let c = rows.max { $0.result.config.hosts < $1.result.config.hosts }?.result.config
        let title: String
        if byHosts, let c {
            title = "Time to first token — \(c.model.name), \(TokenCount.format(c.contextLength)) tokens, \(c.device), \(c.interHostLink)"
        } else {
            title = c.map { "Time to first token — \($0.model.name) on \(CapacityTable.cluster($0)) \($0.device), \($0.interHostLink)" }
                ?? "Time to first token"
        }
        return LineChart(
            title: title, xLabel: byHosts ? "hosts" : "context tokens", yLabel: "seconds", xScale: .log2, yScale: .log10,
            xFormatter: byHosts ? .plain : .tokens, yFormatter: .seconds,
            series: order.map { Series(name: $0, points: points[$0]!.sorted { $0.x < $1.x }) }, yIncludesZero: false).svg()
    }
}
