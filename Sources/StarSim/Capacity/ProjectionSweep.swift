import Cluster
import ConfigFiles
import DistributedAttention
import Foundation
import Projection

/// A sweep of projections: the cartesian product models × contexts × hosts × GPUs per host × methods
/// (in that nesting order, methods innermost), or an explicit list of `points` (each a context with its
/// own hosts / GPUs / block, as in the paper's table) × models × methods.
public struct ProjectionSweep: Sendable {
    /// One explicit point: a context length with its own cluster size and (optionally) block.
    public struct Point: Sendable, Hashable {
        public var context: Int
        public var hosts: Int
        public var gpusPerHost: Int
        public var block: Int?
        /// Hosts for the `global` method at this point (default 1); more than 1 is ignored by global.
        public init(context: Int, hosts: Int, gpusPerHost: Int, block: Int? = nil) {
            self.context = context
            self.hosts = hosts
            self.gpusPerHost = gpusPerHost
            self.block = block
        }
    }

    public var models: [ModelSpec]
    public var contexts: [Int]
    public var hosts: [Int]
    public var gpusPerHost: [Int]
    public var points: [Point]?
    public var device: String
    public var intraHostLink: String
    public var interHostLink: String
    public var combine: ParallelCombine
    public var methods: [MethodKind]
    public var block: Int?
    public var anchor: Int?
    public var generate: Int
    public var queryLength: Int
    public var granularity: Granularity
    public var profileDirectory: String?
    /// Phase-2 pattern of Star and Ring decoding (`phase2:`, `--phase2`); nil = gather–broadcast.
    public var phase2: Phase2Pattern?
    /// Faults applied to every configuration (`faults:`, `--faults FILE`); nil = none.
    public var faults: FaultPlan?
    public var randomFaults: RandomFaults?
    /// A cached prefix of every context (`cached:`, `--cached`): ring methods then prefill only the rest.
    public var cached: CachedPrefix?

    public init(
        models: [ModelSpec], contexts: [Int], hosts: [Int] = [4], gpusPerHost: [Int] = [2], points: [Point]? = nil,
        device: String = "a100-80gb", intraHostLink: String = "nvlink-a100", interHostLink: String = "ib-hdr",
        combine: ParallelCombine = .pipeline, methods: [MethodKind] = [.global, .star, .ring],
        block: Int? = nil, anchor: Int? = nil, generate: Int = 1, queryLength: Int = 64,
        granularity: Granularity = .perLayer, profileDirectory: String? = nil
    ) {
        self.models = models
        self.contexts = contexts
        self.hosts = hosts
        self.gpusPerHost = gpusPerHost
        self.points = points
        self.device = device
        self.intraHostLink = intraHostLink
        self.interHostLink = interHostLink
        self.combine = combine
        self.methods = methods
        self.block = block
        self.anchor = anchor
        self.generate = generate
        self.queryLength = queryLength
        self.granularity = granularity
        self.profileDirectory = profileDirectory
    }

    /// Checks the values every configuration needs (before spending time on projections).
    /// - Throws: ``StarSimError`` naming the option.
    /// - Parameter sharded: the sweep runs as shards (`--shard I/N`), so the whole sweep may hold up
    ///   to `InputLimits.configurationsPerShardedSweep` configurations (each shard is checked by
    ///   ``checkWork(_:shard:)``).
    public func validate(sharded: Bool = false) throws(StarSimError) {
        guard !models.isEmpty else { throw .invalid("model", "", "at least one model") }
        let count = [models.count, points?.count ?? contexts.count * hosts.count * gpusPerHost.count, methods.count]
            .reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? .max : $0 * $1 }
        let limit = sharded ? InputLimits.configurationsPerShardedSweep : InputLimits.configurationsPerSweep
        guard count <= limit else {
            throw .invalid("sweep", "\(count) configurations is over the limit of \(limit) for one \(sharded ? "sharded " : "")sweep; "
                + (sharded ? "split it into several sweeps" : "run it in shards (--shard I/N --out DIR) or split it into smaller sweeps"))
        }
        guard !methods.isEmpty else { throw .invalid("methods", "", "at least one of global, star, ring, ring-zigzag") }
        func inRange(_ values: [Int], _ field: String, _ range: ClosedRange<Int>, _ what: String) throws(StarSimError) {
            for v in values where !range.contains(v) {
                throw .invalid(field, "\(v)", "\(what) in \(range.lowerBound)...\(range.upperBound)")
            }
        }
        func once<T: Hashable>(_ values: [T], _ field: String, _ text: (T) -> String) throws(StarSimError) {
            var seen = Set<T>()
            for v in values where !seen.insert(v).inserted {
                throw .invalid(field, text(v), "each value once (it is given twice)")
            }
        }
        try once(methods, "methods", \.rawValue)
        try validateCached(methods: methods)
        try once(models.map(\.name), "model", { $0 })
        if let points {
            guard !points.isEmpty else { throw .invalid("points", "[]", "at least one point") }
            try inRange(points.map(\.context), "points.context", InputLimits.contextTokens, "a token count")
            try inRange(points.map(\.hosts), "points.hosts", InputLimits.hosts, "a host count")
            try inRange(points.map(\.gpusPerHost), "points.gpus_per_host", InputLimits.gpusPerHost, "GPUs per host")
            try inRange(points.compactMap(\.block), "points.block", InputLimits.contextTokens, "a token count")
            try once(points, "points", { "context \(TokenCount.format($0.context)) on \($0.hosts)x\($0.gpusPerHost)" })
        } else {
            guard !contexts.isEmpty else { throw .invalid("context", "", "at least one token count") }
            guard !hosts.isEmpty else { throw .invalid("hosts", "", "at least one host count") }
            guard !gpusPerHost.isEmpty else { throw .invalid("gpus-per-host", "", "at least one GPU count") }
            try inRange(contexts, "context", InputLimits.contextTokens, "a token count")
            try inRange(hosts, "hosts", InputLimits.hosts, "a host count")
            try inRange(gpusPerHost, "gpus-per-host", InputLimits.gpusPerHost, "GPUs per host")
            try once(contexts, "context", TokenCount.format)
            try once(hosts, "hosts", { "\($0)" })
            try once(gpusPerHost, "gpus-per-host", { "\($0)" })
        }
        try inRange(block.map { [$0] } ?? [], "block", InputLimits.contextTokens, "a token count")
        try inRange(anchor.map { [$0] } ?? [], "anchor", 0...InputLimits.contextTokens.upperBound, "a token count")
        try inRange([generate], "generate", InputLimits.generatedTokens,
                    "a number of tokens (the first comes from the query)")
        try inRange([queryLength], "query", InputLimits.queryTokens, "a number of tokens")
        let catalog = ProfileCatalog(userDirectory: profileDirectory)
        do {
            try catalog.checkUserDirectory()
            _ = try catalog.device(named: device)
            _ = try catalog.link(named: intraHostLink)
            _ = try catalog.link(named: interHostLink)
        } catch {
            throw StarSimError.failed(("\(error)"))
        }
        // Every plan must be valid: a context the method cannot split is an input error, not a row.
        for c in configs() {
            _ = try c.attentionMethod()
        }
        try validateFaults()
    }

    /// Checks `cached` against `methods` (ring methods only) and every context and host count (the new
    /// tokens need one per chunk: at least 2·hosts of them).
    public func validateCached(methods: [MethodKind]) throws(StarSimError) {
        guard let cached else { return }
        if let why = methods.lazy.compactMap(CachedPrefix.unsupported(by:)).first { throw .invalid("cached", why) }
        let pairs = points.map { $0.map { ($0.context, $0.hosts) } } ?? contexts.flatMap { L in hosts.map { (L, $0) } }
        for (L, h) in pairs where L - cached.tokens(of: L) < 2 * h {
            throw .invalidValue("cached", "\(TokenCount.format(cached.tokens(of: L))) of \(TokenCount.format(L))",
                                "at most the context less 2·hosts (\(2 * h)) tokens: the new tokens need one per chunk")
        }
    }

    /// Every fault must exist on the largest cluster of the sweep (a host or link beyond it is a
    /// typo, not a fault that happens not to apply), and be valid on each configuration's cluster.
    func validateFaults() throws(StarSimError) {
        guard let faults, !faults.isEmpty else { return }
        let all = configs()
        let largest = all.map(\.effectiveHosts).max() ?? 1
        for c in all where c.effectiveHosts == largest || c.method != .global {
            do {
                let setup = try c.clusterSetup()
                let (plan, _) = faults.restricted(toHosts: c.effectiveHosts)
                try plan.validate(against: Topology(setup.topology))
            } catch let e as ClusterError {
                throw .invalid("faults", e.description)
            } catch {
                throw .failed("\(error)")
            }
        }
        let (_, skipped) = faults.restricted(toHosts: largest)
        if let field = skipped.first {
            throw .invalid(field, "names a host beyond the largest cluster of this sweep (\(largest) hosts: host0–host\(largest - 1))")
        }
    }

    /// Refuses, before any projection runs, configurations whose run would certainly exceed
    /// `InputLimits.eventsPerRun` simulated events (``ProjectionConfig/estimatedEvents``), naming the
    /// configuration, the estimate and what to reduce.
    /// - Throws: ``StarSimError``.
    public func checkWork() throws(StarSimError) {
        try Self.checkWork(configs())
    }

    /// The same checks on a subset (one shard's configurations): its size and events are what one
    /// machine runs. `shard` names it in the message.
    public static func checkWork(_ configs: [ProjectionConfig], shard: String? = nil) throws(StarSimError) {
        let what = shard.map { "shard \($0)" } ?? "sweep"
        guard configs.count <= InputLimits.configurationsPerSweep else {
            throw .invalid(what, "\(configs.count) configurations is over the limit of \(InputLimits.configurationsPerSweep) "
                + "for one run; use more shards")
        }
        var total = 0
        for c in configs { total = total.addingReportingOverflow(c.estimatedWork).overflow ? .max : total + c.estimatedWork }
        if total > InputLimits.eventsPerSweep {
            throw .invalid(what, "its \(configs.count) configurations need about \(total) simulated events in all, over the "
                + "limit of \(InputLimits.eventsPerSweep) for one run; "
                + (shard == nil ? "run it in shards (--shard I/N --out DIR) or split it into smaller sweeps" : "use more shards"))
        }
        for c in configs where c.estimatedEvents > InputLimits.eventsPerRun {
            throw .invalid(
                "\(c.method.rawValue) on \(c.effectiveHosts) hosts at \(TokenCount.format(c.contextLength))",
                "needs about \(c.estimatedEvents) simulated events, over the limit of \(InputLimits.eventsPerRun) for one run "
                    + "(\(c.method == .global ? "≈ 3 × generate × layers" : c.method.isStar ? "≈ 5 × generate × layers × hosts" : "≈ 1.6 × layers × hosts² + 5 × generate × layers × hosts")); "
                    + "use fewer hosts or generated tokens")
        }
    }

    /// Every configuration, in deterministic order.
    public func configs() -> [ProjectionConfig] {
        var out: [ProjectionConfig] = []
        func make(_ m: ModelSpec, _ method: MethodKind, _ L: Int, _ h: Int, _ g: Int, _ b: Int?) -> ProjectionConfig {
            var c = ProjectionConfig(
                model: m, method: method, contextLength: L, queryLength: queryLength, hosts: h, gpusPerHost: g,
                device: device, intraHostLink: intraHostLink, interHostLink: interHostLink, combine: combine,
                blockSize: b ?? block, anchorSize: anchor, generateTokens: generate, granularity: granularity,
                profileDirectory: profileDirectory)
            c.phase2 = phase2 == .gatherBroadcast ? nil : phase2
            c.faults = faults.flatMap { $0.isEmpty ? nil : $0 }
            c.randomFaults = randomFaults
            if method.isRing { c.cachedLength = cached.map { $0.tokens(of: L) } }
            return c
        }
        if let points {
            for m in models { for p in points { for method in methods { out.append(make(m, method, p.context, p.hosts, p.gpusPerHost, p.block)) } } }
        } else {
            for m in models { for L in contexts { for h in hosts { for g in gpusPerHost { for method in methods {
                out.append(make(m, method, L, h, g, nil))
            } } } } }
        }
        return out
    }
}

// MARK: - YAML

extension ProjectionSweep {
    /// Reads a sweep file (strict: unknown fields are errors, every value checked).
    ///
    /// ```yaml
    /// model: llama-3.1-8b            # or a list; a .gguf or config.json path
    /// context: [16K, 32K, 64K]       # or explicit points (below)
    /// hosts: [4]                     # list or one number
    /// gpus_per_host: [2]
    /// device: a100-80gb
    /// intra_link: nvlink-a100
    /// inter_link: ib-hdr
    /// combine: pipeline              # or tensor-parallel
    /// methods: [global, star, ring]
    /// block: 32K                     # optional (default: min(⌈L/H⌉, 32K)); anchor: optional (= block)
    /// generate: 1
    /// query: 64
    /// granularity: per-layer         # or coarse
    /// profiles: dir                  # optional user profile directory (relative to the file)
    /// points:                        # optional, replaces context × hosts × gpus_per_host
    ///   - {context: 16K, hosts: 4, gpus_per_host: 2, block: 4K}
    /// phase2: gather-broadcast       # or all-gather, tree (Star's and Ring's phase-2 merge)
    /// cached: 90%                    # optional: a cached prefix (120K or 90%), ring methods only
    /// faults:                        # optional, the faults: section of Docs/Faults.md (random allowed)
    /// ```
    /// - Throws: ``StarSimError`` naming the file, field and line.
    public static func load(file: String) throws(StarSimError) -> ProjectionSweep {
        do throws(ConfigError) {
            return try parse(ConfigNode.load(file: file))
        } catch {
            throw .failed(error.description)
        }
    }

    /// Reads the sweep fields of `root` (a sweep file's document, or a scenario's `compare:` section);
    /// relative paths are against the file's directory. `methods`: fixed by the caller (a comparison's
    /// patterns) instead of read from the file.
    /// - Throws: ``ConfigError`` naming the file, field and line.
    public static func parse(_ root: ConfigNode, methods fixed: [MethodKind]? = nil) throws(ConfigError) -> ProjectionSweep {
        let file = root.file
        do {
            let dir = (file as NSString).deletingLastPathComponent
            func list(_ key: String) throws -> [ConfigNode]? {
                guard let n = root.optional(key) else { return nil }
                return n.isList ? try n.asList() : [n]
            }
            func tokens(_ n: ConfigNode) throws -> Int {
                let text = try n.asString(expected: "a token count such as 16K")
                do { return try TokenCount.parse(text, field: n.path) } catch {
                    throw n.error("'\(text)' is not a token count; expected e.g. 2048, 16K, 1M")
                }
            }
            let modelNodes = try list("model") ?? []
            guard !modelNodes.isEmpty else { throw root.error("field 'model' is missing; expected a model name or list", field: "model") }
            var models: [ModelSpec] = []
            for n in modelNodes {
                let name = try n.asString()
                let path = (name.hasSuffix(".gguf") || name.hasSuffix(".json")) && !name.hasPrefix("/") ? dir + "/" + name : name
                do { models.append(try CapacityModels.resolve(path)) } catch { throw n.error("\(error)") }
            }
            var sweep = ProjectionSweep(models: models, contexts: [])
            sweep.contexts = try (list("context") ?? []).map(tokens)
            if let h = try list("hosts") { sweep.hosts = try h.map { try $0.asInt(range: InputLimits.hosts) } }
            if let g = try list("gpus_per_host") { sweep.gpusPerHost = try g.map { try $0.asInt(range: InputLimits.gpusPerHost) } }
            sweep.device = try root.string("device", default: sweep.device)
            sweep.intraHostLink = try root.string("intra_link", default: sweep.intraHostLink)
            sweep.interHostLink = try root.string("inter_link", default: sweep.interHostLink)
            if let c = root.optional("combine") {
                sweep.combine = try c.asChoice(["pipeline": .pipeline, "tensor-parallel": .tensorParallel])
            }
            if let fixed { sweep.methods = fixed } else if let m = try list("methods") {
                sweep.methods = try m.map { n in
                    let text = try n.asString()
                    do { return try MethodKind.parse(text) } catch { throw n.error("\(error)") }
                }
            }
            if let b = root.optional("block") { sweep.block = try tokens(b) }
            if let a = root.optional("anchor") {
                let text = try a.asString()
                sweep.anchor = text == "0" ? 0 : try tokens(a)
            }
            if let c = root.optional("cached") {
                let text = try c.asString(expected: "a token count such as 120K or a share such as 90%")
                do { sweep.cached = try CachedPrefix.parse(text, field: c.path) } catch { throw c.error(error.description) }
            }
            sweep.generate = try root.int("generate", default: 1, range: InputLimits.generatedTokens)
            sweep.queryLength = try root.int("query", default: 64, range: InputLimits.queryTokens)
            if let g = root.optional("granularity") {
                sweep.granularity = try g.asChoice(["per-layer": .perLayer, "coarse": .coarse])
            }
            if let p = root.optional("profiles") {
                let d = try p.asString()
                sweep.profileDirectory = d.hasPrefix("/") ? d : dir + "/" + d
            }
            if let p = root.optional("phase2") {
                sweep.phase2 = try Scenario.phase2Pattern(p)
            }
            if let f = root.optional("faults") {
                let (fixed, random) = try FaultSection.parse(f, allowRandom: true)
                sweep.faults = fixed
                sweep.randomFaults = random
            }
            if let pts = root.optional("points") {
                sweep.points = try pts.asList().map { n in
                    let point = Point(
                        context: try tokens(try n.required("context", expected: "a token count")),
                        hosts: try n.int("hosts", range: InputLimits.hosts),
                        gpusPerHost: try n.int("gpus_per_host", range: InputLimits.gpusPerHost),
                        block: try n.optional("block").map(tokens))
                    try n.finish()
                    return point
                }
            } else if sweep.contexts.isEmpty {
                throw root.error("field 'context' is missing; expected a list of token counts (or 'points')", field: "context")
            }
            try root.finish()
            do { try sweep.validate() } catch { throw ConfigError(file: file, field: nil, line: nil, message: error.description) }
            return sweep
        } catch let e as ConfigError {
            throw e
        } catch {
            throw ConfigError(file: file, field: nil, line: nil, message: "\(error)")
        }
    }
}
