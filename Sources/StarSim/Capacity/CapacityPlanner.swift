import DistributedAttention
import Foundation
import Projection

/// `starsim plan`: the smallest clusters on which each method meets a target.
///
/// Searches hosts ∈ {1, 2, 4, …, 64} × GPUs per host ∈ {1, 2, 4, 8} (global: 1 host only), projects
/// every candidate (all cores), and for each method reports the feasible clusters with the fewest
/// GPUs (ties: fewer hosts), plus why every smaller candidate fails: OOM (with bytes), over the memory
/// target, too slow (with the projected TTFT), or a plan that cannot split the context.
public struct CapacityPlanner: Sendable, Codable {
    public var model: ModelSpec
    public var contextLength: Int
    public var queryLength: Int = 64
    public var device: String
    public var intraHostLink: String
    public var interHostLink: String
    public var combine: ParallelCombine = .pipeline
    public var methods: [MethodKind] = [.global, .star, .ring, .ringZigzag]
    /// Target time to first token, seconds (nil: no time target).
    public var maxTTFT: Double?
    /// Target peak memory per host, bytes (nil: only the device capacity).
    public var maxMemoryPerHost: Int64?
    public var hostCounts: [Int] = [1, 2, 4, 8, 16, 32, 64]
    public var gpuCounts: [Int] = [1, 2, 4, 8]
    /// Default `.coarse`: TTFT and memory are the same as per-layer up to event boundaries and the
    /// search runs many configurations.
    public var granularity: Granularity = .coarse
    public var profileDirectory: String?
    /// A persistent-KV prefill (`plan --cached`): this much of the context is in the hosts' KV cache
    /// from an earlier turn and only the rest is encoded; ring methods only (nil: a fresh prefill).
    public var cached: CachedPrefix?

    public init(model: ModelSpec, contextLength: Int, device: String = "a100-80gb",
                intraHostLink: String = "nvlink-a100", interHostLink: String = "ib-hdr",
                maxTTFT: Double? = nil, maxMemoryPerHost: Int64? = nil) {
        self.model = model
        self.contextLength = contextLength
        self.device = device
        self.intraHostLink = intraHostLink
        self.interHostLink = interHostLink
        self.maxTTFT = maxTTFT
        self.maxMemoryPerHost = maxMemoryPerHost
    }

    /// One candidate cluster for one method and its verdict.
    public struct Candidate: Sendable {
        public var hosts: Int
        public var gpusPerHost: Int
        public var result: ProjectionResult
        /// nil when the candidate meets every target; otherwise why not.
        public var rejection: String?
        public var gpus: Int { hosts * gpusPerHost }
    }

    /// Per method: the smallest feasible clusters and the rejected smaller ones.
    public struct MethodPlan: Sendable {
        public var method: MethodKind
        /// Feasible clusters with the fewest GPUs (empty: nothing in the search space works).
        public var smallest: [Candidate]
        /// Candidates with at most as many GPUs as the smallest feasible one (or all) that fail, with reasons.
        public var rejected: [Candidate]
    }

    /// Runs the search.
    /// - Throws: ``StarSimError`` for unknown device/link names or no target.
    public func plan(progress: (@Sendable (Int, Int) -> Void)? = nil) throws(StarSimError) -> [MethodPlan] {
        let configs = try searchConfigs()
        return plans(from: CapacityProjection.sweep(configs, parallel: true, progress: progress))
    }

    /// Every candidate of the search, in a fixed order (what `plan --shard` deals to shards).
    /// - Throws: ``StarSimError`` for unknown device/link names.
    public func searchConfigs() throws(StarSimError) -> [ProjectionConfig] {
        if let cached {
            if let why = methods.lazy.compactMap(CachedPrefix.unsupported(by:)).first { throw .invalid("--cached", why) }
            let n = cached.tokens(of: contextLength)
            guard n < contextLength else {
                throw .invalidValue("--cached", TokenCount.format(n), "fewer tokens than the context (\(TokenCount.format(contextLength)))")
            }
        }
        var configs: [ProjectionConfig] = []
        for method in methods {
            for h in (method == .global ? [1] : hostCounts) {
                for g in gpuCounts {
                    var c = ProjectionConfig(
                        model: model, method: method, contextLength: contextLength, queryLength: queryLength, hosts: h,
                        gpusPerHost: g, device: device, intraHostLink: intraHostLink, interHostLink: interHostLink,
                        combine: combine, generateTokens: 1, granularity: granularity, profileDirectory: profileDirectory)
                    c.cachedLength = cached?.tokens(of: contextLength)
                    configs.append(c)
                }
            }
        }
        _ = try configs[0].clusterSetup()  // unknown device / link: fail before searching
        return configs
    }

    /// The plan per method from the projected candidates (``searchConfigs()``'s results, any order).
    public func plans(from results: [ProjectionResult]) -> [MethodPlan] {
        var plans: [MethodPlan] = []
        for method in methods {
            let candidates = results.filter { $0.config.method == method }.map { r in
                Candidate(hosts: r.config.effectiveHosts, gpusPerHost: r.config.gpusPerHost, result: r, rejection: reject(r))
            }.sorted { ($0.gpus, $0.hosts) < ($1.gpus, $1.hosts) }
            let feasible = candidates.filter { $0.rejection == nil }
            let best = feasible.first?.gpus
            let smallest = feasible.filter { $0.gpus == best }
            let rejected = candidates.filter { $0.rejection != nil && (best == nil || $0.gpus <= best!) }
            plans.append(MethodPlan(method: method, smallest: smallest, rejected: rejected))
        }
        return plans
    }

    func reject(_ r: ProjectionResult) -> String? {
        switch r.status {
        case .outOfMemory(let m): return "OOM: \(m)"
        case .failed(let m): return "cannot run: \(m)"
        case .ok: break
        }
        if let limit = maxMemoryPerHost, r.peakMemoryPerHost > limit {
            return "peak memory \(CapacityTable.bytes(r.peakMemoryPerHost)) per host > target \(CapacityTable.bytes(limit))"
        }
        if let t = maxTTFT, let ttft = r.timeToFirstToken, ttft > t {
            return String(format: "too slow: projected TTFT %.3f s > target %.3f s", ttft, t)
        }
        return nil
    }

    /// One row per reported candidate (the smallest feasible and the rejected ones), in the text's order.
    struct PlanRow: Encodable {
        var method: String, hosts: Int, gpusPerHost: Int, gpus: Int, verdict: String, reason: String?
        var ttftSeconds: Double?, peakMemoryPerHostBytes: Int64
    }

    func rows(_ plans: [MethodPlan]) -> [PlanRow] {
        plans.flatMap { p in
            (p.smallest.map { ($0, "smallest") } + p.rejected.map { ($0, "rejected") }).map { c, verdict in
                PlanRow(method: p.method.rawValue, hosts: c.hosts, gpusPerHost: c.gpusPerHost, gpus: c.gpus, verdict: verdict,
                        reason: c.rejection, ttftSeconds: c.result.timeToFirstToken,
                        peakMemoryPerHostBytes: c.result.peakMemoryPerHost)
            }
        }
    }

    /// CSV: one row per reported candidate (`verdict` is `smallest` or `rejected`, with the reason).
    public func csv(_ plans: [MethodPlan]) -> String {
        CSV.document(
            header: ["method", "hosts", "gpus_per_host", "gpus", "verdict", "reason", "ttft_s", "peak_memory_per_host_bytes"],
            rows: rows(plans).map { r in
                [r.method, "\(r.hosts)", "\(r.gpusPerHost)", "\(r.gpus)", r.verdict, r.reason ?? "",
                 r.ttftSeconds.map { "\($0)" } ?? "", "\(r.peakMemoryPerHostBytes)"]
            })
    }

    /// JSON: an array of the same rows as ``csv(_:)`` (sorted keys, snake_case).
    public func json(_ plans: [MethodPlan]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(rows(plans))) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Printable report.
    public func text(_ plans: [MethodPlan]) -> String {
        let follow = cached.map { " (a follow-up: \(TokenCount.format($0.tokens(of: contextLength))) of them cached)" } ?? ""
        var out = "\(model.name), \(TokenCount.format(contextLength)) tokens\(follow) on \(device) (\(intraHostLink) in a host, "
            + "\(interHostLink) between hosts, \(combine.rawValue)); targets:"
        if let t = maxTTFT { out += String(format: " TTFT ≤ %.3f s", t) }
        if let m = maxMemoryPerHost { out += " memory ≤ \(CapacityTable.bytes(m))/host" }
        if maxTTFT == nil && maxMemoryPerHost == nil { out += " fits in memory" }
        out += "\n"
        for p in plans {
            out += "\n\(p.method.rawValue): "
            if p.smallest.isEmpty {
                out += "no cluster in the search space (hosts \(hostCounts.map(String.init).joined(separator: ",")) × GPUs "
                    + "\(gpuCounts.map(String.init).joined(separator: ","))) meets the target\n"
            } else {
                out += "smallest: " + p.smallest.map { c in
                    String(format: "%d×%d (%d GPUs): TTFT %.3f s, peak %@/host", c.hosts, c.gpusPerHost, c.gpus,
                           c.result.timeToFirstToken ?? 0, CapacityTable.bytes(c.result.peakMemoryPerHost))
                }.joined(separator: "; ") + "\n"
            }
            for c in p.rejected {
                out += "  \(c.hosts)×\(c.gpusPerHost) (\(c.gpus) GPUs) fails — \(c.rejection!)\n"
            }
        }
        return out
    }
}

/// Parses `2s`, `500ms`, `1.5` (seconds) and `80GB`, `64GiB`, `1e11` (bytes).
public enum CapacityUnits {
    /// - Throws: ``StarSimError`` naming `field`.
    public static func seconds(_ text: String, field: String) throws(StarSimError) -> Double {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        for (suffix, scale) in [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1.0), ("min", 60.0)] where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)), v > 0, v.isFinite { return v * scale }
        }
        if let v = Double(t), v > 0, v.isFinite { return v }
        throw .invalid(field, text, "a positive duration such as 2s, 500ms or 1.5")
    }

    /// - Throws: ``StarSimError`` naming `field`.
    public static func bytes(_ text: String, field: String) throws(StarSimError) -> Int64 {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("tib", 1_099_511_627_776), ("gib", 1_073_741_824), ("mib", 1_048_576),
                                         ("tb", 1e12), ("gb", 1e9), ("mb", 1e6), ("b", 1)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), v > 0, v.isFinite {
                return Int64(v * scale)
            }
        }
        if let v = Double(t), v > 0, v.isFinite { return Int64(v) }
        throw .invalid(field, text, "a positive size such as 80GB, 64GiB or 8e10 (bytes)")
    }
}
