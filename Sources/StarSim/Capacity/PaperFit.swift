import Cluster
import DistributedAttention
import Foundation
import Projection

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
        var configs: [ProjectionConfig] = []
        for f in files { configs += try ProjectionSweep.load(file: f).configs() }
        func pick(_ m: MethodKind) -> [(ProjectionConfig, Double)] {
            table6.compactMap { row in
                guard let c = configs.first(where: { $0.model.name == "llama-3.1-8b" && $0.contextLength == row.context && $0.method == m })
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
