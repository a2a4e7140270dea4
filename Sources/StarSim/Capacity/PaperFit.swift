import Cluster
import DistributedAttention
import Foundation
import Projection
import Synchronization

extension PaperComparison {
    /// Which cells a fitted parameter saw.
    public enum CellRole: String, Sendable, Hashable {
        /// Used to fit a `source: fitted` parameter (Llama-3.1-8B Table 6 star and ring, 16K–128K).
        case fitted
        /// Computed from fitted cells (the 8B speedups at 16K–128K are ring ÷ star of Table 6 rows):
        /// not an independent check.
        case derived
        /// Never seen by the fit and dependent on the fitted parameters: 70B speedups, 8B 256K–1M
        /// speedups. The independent check of the fit.
        case heldOut = "held-out"
        /// The vanilla column: one host, no messages and no ring steps, so neither fitted parameter
        /// changes it (its kernel overhead is an assumption, not fitted).
        case independent
    }

    /// The role of a cell in the fit of ``fit(files:)``.
    public static func role(column: String, model: String, context: Int) -> CellRole {
        let fitted8B = model == "llama-3.1-8b" && context <= 131072
        switch column {
        case "star", "ring": return fitted8B ? .fitted : .heldOut
        case "speedup": return fitted8B ? .derived : .heldOut
        default: return .independent
        }
    }

    /// The result of fitting the two framework parameters to the paper's 8B Table 6 rows.
    public struct Fit: Sendable, Hashable {
        /// Software cost per inter-host message, seconds (goes into the paper links' `message_overhead_seconds`).
        public var messageOverheadSeconds: Double
        /// Ring-step attention efficiency (goes into the paper device's `ring_attention_efficiency`).
        public var ringAttentionEfficiency: Double
        /// Root-mean-square of `ln(projected / paper)` over the 4 star cells at the fitted overhead.
        public var starLogRMS: Double
        /// Same over the 4 ring cells at both fitted values.
        public var ringLogRMS: Double
        /// Projections run by the fit.
        public var evaluations: Int
    }

    /// Fits the paper setup's two `source: fitted` parameters to the Llama-3.1-8B rows of Table 6
    /// (16K–128K, star and ring: 8 cells), in two one-dimensional steps:
    ///
    /// 1. the per-message overhead `o` of the inter-host link, on the 4 **star** cells (star runs no
    ///    ring steps, so they do not depend on the ring efficiency), over `o ∈ [0, 5 ms]`;
    /// 2. the ring-step attention efficiency `r`, on the 4 **ring** cells at the fitted `o`, over
    ///    `r ∈ [0.05, 1]`.
    ///
    /// Each step minimises `Σ ln(projected / paper)²` by golden-section search (40 iterations; the
    /// loss is unimodal in each parameter: times grow monotonically with `o` and fall with `r`).
    /// Every evaluation is a full projection through the engine with the scenario file's setup and
    /// only that parameter replaced. The held-out cells (70B, 256K–1M) are not used.
    ///
    /// - Parameter files: the paper's sweep files (the 8B 16K–128K points are taken from them).
    /// - Throws: ``StarSimError`` when a file cannot be read or the fitted configurations are missing.
    public static func fit(files: [String]) throws(StarSimError) -> Fit {
        let configs = try configs(files: files)
        func pick(_ m: MethodKind) -> [(ProjectionConfig, Double)] {
            table6.compactMap { row in
                guard let c = configs.first(where: { isPoint($0, "llama-3.1-8b", row.context, m) })
                else { return nil }
                return (c, m == .star ? row.star : row.ring)
            }
        }
        let star = pick(.star), ring = pick(.ring)
        guard star.count == table6.count, ring.count == table6.count else {
            throw StarSimError.failed(("the paper files lack some Llama-3.1-8B 16K-128K star/ring points needed for the fit"))
        }
        var evaluations = 0
        func loss(_ cells: [(ProjectionConfig, Double)], overhead: Double, ringEfficiency: Double) -> Double {
            var sum = 0.0
            for (config, paper) in cells {
                evaluations += 1
                guard let t = try? projectedTotal(config, messageOverheadSeconds: overhead, ringAttentionEfficiency: ringEfficiency)
                else { return .infinity }
                sum += pow(log(t / paper), 2)
            }
            return sum
        }
        let startRing = 1.0
        let o = goldenSection(0, 5e-3) { loss(star, overhead: $0, ringEfficiency: startRing) }
        let r = goldenSection(0.05, 1) { loss(ring, overhead: o, ringEfficiency: $0) }
        let starRMS = sqrt(loss(star, overhead: o, ringEfficiency: r) / Double(star.count))
        let ringRMS = sqrt(loss(ring, overhead: o, ringEfficiency: r) / Double(ring.count))
        return Fit(messageOverheadSeconds: o, ringAttentionEfficiency: r, starLogRMS: starRMS, ringLogRMS: ringRMS,
                   evaluations: evaluations)
    }

    /// Total seconds per sample of `config` with the inter-host link's message overhead and the
    /// device's ring-step efficiency replaced (everything else from the config's profiles).
    public static func projectedTotal(
        _ config: ProjectionConfig, messageOverheadSeconds: Double, ringAttentionEfficiency: Double
    ) throws -> Double {
        var setup = try config.clusterSetup()
        let link = try ProfileCatalog(userDirectory: config.profileDirectory).link(named: config.interHostLink)
        var changed = link
        changed.messageOverheadSeconds = Labelled(messageOverheadSeconds, .fitted("trial value of the fit"))
        setup.topology.interHostLink = changed.profile
        setup.device.ringAttentionEfficiency = Labelled(ringAttentionEfficiency, .fitted("trial value of the fit"))
        let outcome = try ProjectedExecution.run(
            model: config.model, method: try config.attentionMethod(), name: config.method.rawValue, setup: setup,
            generateTokens: max(config.generateTokens, 1))
        guard let end = outcome.sampleEnds.last else { throw StarSimError.failed(("projection produced no token")) }
        return (end - .zero).seconds
    }

    /// Minimiser of a unimodal `f` on `[a, b]` (golden-section search, 40 iterations: the bracket
    /// shrinks to `0.618⁴⁰ ≈ 4e-9` of its width).
    static func goldenSection(_ a: Double, _ b: Double, _ f: (Double) -> Double) -> Double {
        let g = (sqrt(5.0) - 1) / 2
        var lo = a, hi = b
        var x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo)
        var f1 = f(x1), f2 = f(x2)
        for _ in 0..<40 {
            if f1 <= f2 {
                hi = x2; x2 = x1; f2 = f1
                x1 = hi - g * (hi - lo); f1 = f(x1)
            } else {
                lo = x1; x1 = x2; f1 = f2
                x2 = lo + g * (hi - lo); f2 = f(x2)
            }
        }
        return (lo + hi) / 2
    }

    /// What the fitted ring-step efficiency would have to be to reproduce one ring-dependent cell.
    public struct ImpliedRingEfficiency: Sendable, Hashable {
        /// `ring 64K` (Table 6) or `llama-3.1-70b 64K` (a speedup).
        public var row: String
        /// `ring` (seconds per sample) or `speedup` (×).
        public var column: String
        public var paper: Double
        /// The ring total per sample the cell asks for, seconds (for a speedup: paper × projected star).
        public var targetRingSeconds: Double
        /// The `ring_attention_efficiency` at which the projected ring total equals the target; nil
        /// when none in `[minimum, 1]` does (``note`` says which end).
        public var efficiency: Double?
        public var note: String?
        public var role: CellRole
        /// The `ring_attention_efficiency` the cell's device profile holds (the fitted value), nil when
        /// the profiles could not be read.
        public var profileEfficiency: Double?

        public init(row: String, column: String, paper: Double, targetRingSeconds: Double, efficiency: Double?, note: String?,
                    role: CellRole, profileEfficiency: Double? = nil) {
            self.row = row
            self.column = column
            self.paper = paper
            self.targetRingSeconds = targetRingSeconds
            self.efficiency = efficiency
            self.note = note
            self.role = role
            self.profileEfficiency = profileEfficiency
        }
    }

    /// Lowest efficiency the search tries.
    static let impliedMinimum = 1e-3

    /// For every ring-dependent cell — Table 6's ring column and every Star-over-Ring speedup — the
    /// `ring_attention_efficiency` that makes the projection reproduce it, every other parameter as
    /// the paper profiles have it. A ring cost that is a fixed fraction of flash attention would
    /// give one value for all cells; the spread shows how far the paper's ring cost is from that.
    ///
    /// Ring time falls monotonically with the efficiency, so each cell is a bisection on
    /// `ln r ∈ [ln 0.001, 0]` (16 steps: the ratio of the bracket ends is then within 0.01 %); a
    /// speedup's target is `paper × projected star total` (star runs no ring steps). Cells run in
    /// parallel. - Throws: ``StarSimError`` when a file cannot be read or a configuration is missing.
    public static func impliedRingEfficiencies(
        files: [String], progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws(StarSimError) -> [ImpliedRingEfficiency] {
        let configs = try configs(files: files)
        func find(_ model: String, _ L: Int, _ m: MethodKind) throws(StarSimError) -> ProjectionConfig {
            guard let c = configs.first(where: { isPoint($0, model, L, m) }) else {
                throw StarSimError.failed("the paper files lack the \(model) \(TokenCount.format(L)) \(m.rawValue) point")
            }
            return c
        }
        struct Job: Sendable {
            var row: String, column: String, paper: Double, role: CellRole
            var ring: ProjectionConfig, star: ProjectionConfig?
        }
        var jobs: [Job] = []
        for row in table6 {
            let ring = try find("llama-3.1-8b", row.context, .ring)
            jobs.append(Job(row: "ring \(TokenCount.format(row.context))", column: "ring", paper: row.ring,
                            role: role(column: "ring", model: "llama-3.1-8b", context: row.context), ring: ring, star: nil))
        }
        for row in speedups {
            jobs.append(Job(row: "\(row.model) \(TokenCount.format(row.context))", column: "speedup", paper: row.speedup,
                            role: role(column: "speedup", model: row.model, context: row.context),
                            ring: try find(row.model, row.context, .ring), star: try find(row.model, row.context, .star)))
        }
        let results = Mutex([ImpliedRingEfficiency?](repeating: nil, count: jobs.count))
        let done = Mutex(0)
        let frozen = jobs
        DispatchQueue.concurrentPerform(iterations: frozen.count) { i in
            let job = frozen[i]
            let r = impliedRingEfficiency(job.ring, star: job.star, paper: job.paper)
            results.withLock { $0[i] = ImpliedRingEfficiency(
                row: job.row, column: job.column, paper: job.paper, targetRingSeconds: r.target, efficiency: r.efficiency,
                note: r.note, role: job.role, profileEfficiency: r.profile) }
            let n = done.withLock { $0 += 1; return $0 }
            progress?(n, frozen.count)
        }
        return results.withLock { $0.compactMap { $0 } }
    }

    /// The bisection of ``impliedRingEfficiencies(files:progress:)`` for one cell: `paper` is the
    /// ring's seconds per sample, or (with `star`) the Star-over-Ring speedup. Returns the ring total
    /// the cell asks for, the efficiency (nil when outside `[0.001, 1]`), why not, and the efficiency
    /// the ring's device profile holds.
    public static func impliedRingEfficiency(_ ring: ProjectionConfig, star: ProjectionConfig?, paper: Double)
        -> (target: Double, efficiency: Double?, note: String?, profile: Double?)
    {
        func current(_ c: ProjectionConfig) -> (overhead: Double, efficiency: Double)? {
            let catalog = ProfileCatalog(userDirectory: c.profileDirectory)
            guard let link = try? catalog.link(named: c.interHostLink), let d = try? catalog.device(named: c.device) else { return nil }
            return (link.messageOverheadSeconds.value, d.ringAttentionEfficiency.value)
        }
        guard let now = current(ring) else { return (.nan, nil, "profiles not readable", nil) }
        var target = paper
        if let star {
            guard let s = try? projectedTotal(star, messageOverheadSeconds: now.overhead, ringAttentionEfficiency: now.efficiency)
            else { return (.nan, nil, "star projection failed", now.efficiency) }
            target = paper * s
        }
        func ringTotal(_ r: Double) -> Double? {
            try? projectedTotal(ring, messageOverheadSeconds: now.overhead, ringAttentionEfficiency: r)
        }
        guard let fastest = ringTotal(1), let slowest = ringTotal(impliedMinimum) else {
            return (target, nil, "ring projection failed", now.efficiency)
        }
        if fastest > target {
            return (target, nil, String(format: "> 1: even flash-speed ring steps give %.3g s", fastest), now.efficiency)
        }
        if slowest < target {
            return (target, nil, String(format: "< %g: ring steps at that efficiency still give %.3g s", impliedMinimum, slowest), now.efficiency)
        }
        var lo = log(impliedMinimum), hi = 0.0
        for _ in 0..<16 {
            let mid = (lo + hi) / 2
            guard let t = ringTotal(exp(mid)) else { return (target, nil, "ring projection failed", now.efficiency) }
            if t > target { lo = mid } else { hi = mid }
        }
        return (target, exp((lo + hi) / 2), nil, now.efficiency)
    }

    /// The implied efficiencies as text (`starsim paper --implied`), headed by the profile's value.
    public static func text(_ cells: [ImpliedRingEfficiency]) -> String {
        var rows: [[String]] = [["cell", "column", "paper", "ring total needed", "implied efficiency", "fit"]]
        for c in cells {
            let paper = c.column == "ring" ? String(format: "%.1f s", c.paper) : String(format: "%.1f×", c.paper)
            rows.append([c.row, c.column, paper, String(format: "%.4g s", c.targetRingSeconds),
                         c.efficiency.map { String(format: "%.4f", $0) } ?? (c.note ?? "-"), c.role.rawValue])
        }
        var s = "ring_attention_efficiency each ring-dependent paper cell implies"
        if let fitted = cells.first?.profileEfficiency { s += String(format: " (the profile's fitted value: %.4g)", fitted) }
        s += "\n" + CapacityTable.align(rows)
        return s
    }

    /// The implied efficiencies as CSV: `cell,column,paper,target_ring_seconds,implied_efficiency,note,fit`
    /// (empty efficiency when none in `[0.001, 1]` reproduces the cell; the note says which end).
    public static func csv(_ cells: [ImpliedRingEfficiency]) -> String {
        CSV.document(
            header: ["cell", "column", "paper", "target_ring_seconds", "implied_efficiency", "note", "fit"],
            rows: cells.map { c in
                [c.row, c.column, "\(c.paper)", "\(c.targetRingSeconds)", c.efficiency.map { "\($0)" } ?? "", c.note ?? "",
                 c.role.rawValue]
            })
    }

    /// The implied efficiencies as JSON: `{"cells": [{"cell", "column", "paper", "target_ring_seconds",
    /// "implied_efficiency", "note", "fit"}]}` (sorted keys; null where absent).
    public static func json(_ cells: [ImpliedRingEfficiency]) -> String {
        struct Cell: Encodable {
            var cell: String, column: String, paper: Double, target: Double, efficiency: Double?, note: String?, fit: String
            func encode(to encoder: any Encoder) throws {
                enum K: String, CodingKey {
                    case cell, column, paper, target = "target_ring_seconds", efficiency = "implied_efficiency", note, fit
                }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(cell, forKey: .cell); try c.encode(column, forKey: .column); try c.encode(paper, forKey: .paper)
                try c.encode(target, forKey: .target); try c.encode(efficiency, forKey: .efficiency)
                try c.encode(note, forKey: .note); try c.encode(fit, forKey: .fit)
            }
        }
        struct Document: Encodable { var cells: [Cell] }
        let doc = Document(cells: cells.map {
            Cell(cell: $0.row, column: $0.column, paper: $0.paper, target: $0.targetRingSeconds, efficiency: $0.efficiency,
                 note: $0.note, fit: $0.role.rawValue)
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (String(data: (try? encoder.encode(doc)) ?? Data(), encoding: .utf8) ?? "{}") + "\n"
    }

    /// The fit as text (`starsim paper --fit`).
    public static func text(_ fit: Fit) -> String {
        String(
            format: """
                Fit on the Llama-3.1-8B Table 6 rows (16K-128K; %d projections):
                  message_overhead_seconds (inter-host links) = %.6g s   (4 star cells, log-RMS %.3f)
                  ring_attention_efficiency (device)          = %.4g     (4 ring cells, log-RMS %.3f)
                Copy these into scenarios/paper/profiles (links/*-torch.yaml, devices/a100-80gb-hf.yaml).

                """, fit.evaluations, fit.messageOverheadSeconds, fit.starLogRMS, fit.ringAttentionEfficiency, fit.ringLogRMS)
    }
}
