import Cluster
import ConfigFiles
import DistributedAttention
import Foundation
import Llama
import Testing
import TestSupport
@testable import StarSim

/// Pass-Q ring (`RingPlan.Exchange.passQ`, methods `ring-passq` and `ring-zigzag-passq`): exact
/// against the model's own single-process forward pass, bytes per host equal to the guide's closed
/// form (counted here from token positions, not from the plan's formula), and usable by name everywhere.
@Suite struct PassQRingTests {
    /// Prefill bytes host `h` sends, from positions alone: its Q block hops `H − 1` times around the
    /// ring (its own and the `H − 2` it forwards: every block but its successor's), and a partial goes
    /// back to every other host whose Q block has a query at or after this host's first key.
    static func prefillBytes(_ plan: RingPlan, host h: Int, shape: ModelShape) -> Int {
        let H = plan.hosts
        func positions(_ o: Int) -> [Int] { plan.runs(onHost: o).flatMap { $0.tokens } }
        let q = shape.heads * shape.headDim * shape.bytesPerElement
        let partial = q + shape.heads * 4
        var bytes = 0
        for o in 0..<H where o != (h + 1) % H { bytes += positions(o).count * q }
        let firstKey = plan.keyRuns(onHost: h).flatMap { $0.tokens }.min()!
        for o in 0..<H where o != h && positions(o).max()! >= firstKey { bytes += positions(o).count * partial }
        return shape.layers * bytes
    }

    @Test(arguments: [2, 3, 4], [RingPlan.Partition.contiguous, .zigzag, .striped])
    func passQIsExact(hosts: Int, partition: RingPlan.Partition) throws {
        let context = 40 * hosts + 3, query = 5
        let p = DistributedExecutionTests.prompt(context: context, query: query, seed: UInt64(70 + hosts))
        let reference = try DistributedExecutionTests.reference(p, steps: 4)
        for phase2 in [Phase2Pattern.gatherBroadcast, .tree] {
            let plan = try RingPlan(contextLength: context, queryLength: query, hosts: hosts, partition: partition,
                                    phase2: phase2, exchange: .passQ)
            let outcome = try DistributedExecutionTests.run(.ring(plan), p, steps: 4)
            let diff = DistributedExecutionTests.maxDifference(outcome.logits, reference)
            #expect(diff <= 1e-3, "pass-Q \(partition) \(phase2) on \(hosts) hosts: max |Δlogit| = \(diff)")
            #expect(outcome.generated.prefix(reference.count) == reference.map { LlamaModel.argmax($0) }[...])
            let shape = DistributedExecutionTests.session.shape
            for h in 0..<hosts {
                let sent = outcome.counters.host(HostID(h))?.sentByPhase[Phase.contextEncoding.tag] ?? 0
                let expected = Self.prefillBytes(plan, host: h, shape: shape)
                #expect(sent == expected, "host\(h): \(sent) B sent in prefill, expected \(expected)")
            }
            let analytic = plan.analyticTraffic(shape: shape, sampledTokens: outcome.generated.count)
            for h in outcome.counters.hosts {
                #expect(h.bytesSent == Phase.allCases.reduce(0) { $0 + analytic[h.host.rawValue, $1] })
            }
        }
    }

    /// A persistent-KV prefill — a follow-up prompt over a context whose K,V the hosts hold from an
    /// earlier turn — is exact with every exchange; pass-KV blocks carry the cached K,V too, pass-Q's Q
    /// blocks only the new tokens.
    @Test(arguments: [2, 4], [RingPlan.Partition.contiguous, .zigzag, .striped])
    func persistentKVPrefillIsExact(hosts: Int, partition: RingPlan.Partition) throws {
        let context = 60 * hosts + 1, query = 4, cached = 40 * hosts + 3
        let p = DistributedExecutionTests.prompt(context: context, query: query, seed: UInt64(90 + hosts))
        let reference = try DistributedExecutionTests.reference(p, steps: 3)
        let shape = DistributedExecutionTests.session.shape
        for exchange in RingPlan.Exchange.allCases {
            let plan = try RingPlan(contextLength: context, queryLength: query, hosts: hosts, partition: partition,
                                    exchange: exchange, cachedLength: cached)
            let outcome = try DistributedExecutionTests.run(.ring(plan), p, steps: 3)
            let diff = DistributedExecutionTests.maxDifference(outcome.logits, reference)
            #expect(diff <= 1e-3, "\(exchange) \(partition) cached \(cached) on \(hosts) hosts: max |Δlogit| = \(diff)")
            #expect(outcome.generated.prefix(reference.count) == reference.map { LlamaModel.argmax($0) }[...])
            for h in 0..<hosts {
                let sent = outcome.counters.host(HostID(h))?.sentByPhase[Phase.contextEncoding.tag] ?? 0
                let expected: Int
                if exchange == .passQ {
                    expected = Self.prefillBytes(plan, host: h, shape: shape)
                } else {
                    // Every other host's block — cached and new tokens — passes through each host but its successor's.
                    let blocks = (0..<hosts).filter { $0 != (h + 1) % hosts }.map { o in
                        plan.keyRuns(onHost: o).reduce(0) { $0 + $1.count }
                    }
                    expected = shape.layers * blocks.reduce(0, +) * shape.kvBytesPerTokenPerLayer
                }
                #expect(sent == expected, "\(exchange) host\(h): \(sent) B sent in prefill, expected \(expected)")
            }
        }
    }

    @Test func theLastHostCannotDecodeAloneWithoutTheKV() throws {
        #expect(throws: PlanError.self) {
            try RingPlan(contextLength: 64, queryLength: 2, hosts: 4, decode: .lastHost, exchange: .passQ)
        }
        do {
            _ = try RingPlan(contextLength: 64, queryLength: 2, hosts: 4, decode: .lastHost, exchange: .passQ)
        } catch {
            #expect(error.field == "RingPlan.decode" && error.value == "last-host")
            #expect(error.description.contains("phase2"))
        }
        // One host: nothing moves, any exchange is the local prefill.
        _ = try RingPlan(contextLength: 64, queryLength: 2, hosts: 1, decode: .lastHost, exchange: .passQ)
        // A scenario names the field.
        let yaml = "prompt: {kind: passkey}\ncluster: {hosts: 4}\nmethods: [{ring: {exchange: pass-q, decode: last-host}}]\n"
        let s = try Scenario.parse(ConfigNode.parse(yaml, file: "a.yaml"))
        #expect(throws: StarSimError.self) {
            _ = try s.methods[0].plan(contextLength: 100, queryLength: 4, hosts: 4, field: "methods[0]")
        }
        do {
            _ = try s.methods[0].plan(contextLength: 100, queryLength: 4, hosts: 4, field: "methods[0]")
        } catch {
            #expect(error.description.contains("methods[0].ring-passq.decode"), "\(error)")
        }
    }

    @Test func everyFrontEndKnowsIt() throws {
        let s = try Scenario.parse(ConfigNode.parse(
            "prompt: {kind: passkey}\nmethods: [ring-passq, ring-zigzag-passq, {ring: {exchange: pass-q, partition: striped, phase2: tree}}]\n",
            file: "a.yaml"))
        #expect(s.methods.map(\.name) == ["ring-passq", "ring-zigzag-passq", "ring-striped-passq+tree"])
        #expect(try MethodKind.parse("ring-zigzag-passq") == .ringZigzagPassQ)
        // Projected: the Q blocks take the pass-KV ring's hops; Llama-3.1-8B's Q (32 heads) is twice its
        // K,V (8 KV heads), plus the partials; the bytes equal the closed form.
        let shape = ModelShape.llama31_8B
        func project(_ m: MethodKind) -> ProjectionResult {
            CapacityProjection.project(ProjectionConfig(model: .llama31_8B, method: m, contextLength: 64 * 1024, hosts: 8,
                                                        gpusPerHost: 1, device: "h100-sxm", intraHostLink: "nvlink-h100",
                                                        interHostLink: "ib-ndr", generateTokens: 2))
        }
        let kv = project(.ringZigzag), pq = project(.ringZigzagPassQ)
        #expect(kv.status == .ok && pq.status == .ok)
        let plan = try RingPlan(contextLength: 64 * 1024, queryLength: pq.config.queryLength, hosts: 8,
                                partition: .zigzag, exchange: .passQ)
        let analytic = plan.analyticTraffic(shape: shape, sampledTokens: 2)
        for h in 0..<8 {
            let sent = pq.hostBytes.filter { $0.name == "host\(h)" && $0.phase == .contextEncoding }.map(\.bytes).reduce(0, +)
            #expect(sent == analytic[h, .contextEncoding], "host\(h)")
            #expect(sent == Self.prefillBytes(plan, host: h, shape: shape), "host\(h)")
        }
        func contextBytes(_ r: ProjectionResult) -> Int { r.hostBytes.filter { $0.phase == .contextEncoding }.map(\.bytes).reduce(0, +) }
        #expect(contextBytes(pq) > 2 * contextBytes(kv))
    }
}

/// Meta's pass-KV / pass-Q rule and `compare --cached`: the rule's thresholds are the paper's closed
/// forms, and on a projected cluster its choice is the faster exchange for a full prefill and for a
/// follow-up prompt over a mostly cached context.
@Suite struct PassQRuleTests {
    @Test func thresholdsAreThePapersClosedForms() {
        // Llama-3.1-70B: 64 heads, 8 KV heads, bf16; 16 ranks of 1e15 FLOP/s over 50 GB/s links.
        let r = PassQRule(newTokens: 4096, cachedTokens: 126_976, hosts: 16, shape: .llama31_70B,
                          flopsPerSecond: 1e15, linkBytesPerSecond: 50e9)
        #expect(abs(r.hidingThreshold - 16 * 1e15 * 8 * 2 / (2 * 64 * 50e9)) < 1e-6)  // 40,000 tokens
        #expect(r.missRateThreshold == 0.25)
        #expect(r.choice == .passQ)
        #expect(r.reason.hasPrefix("pass-Q") && r.reason.contains("3.1%") && r.reason.contains("25.0%"))
        // Enough new tokens to hide the K,V transfer: pass-KV whatever the cache.
        #expect(PassQRule(newTokens: 40_000, cachedTokens: 1_000_000, hosts: 16, shape: .llama31_70B,
                          flopsPerSecond: 1e15, linkBytesPerSecond: 50e9).choice == .ring)
        // Few new tokens but a high miss rate: pass-KV's messages are the smaller.
        let miss = PassQRule(newTokens: 3_000, cachedTokens: 6_000, hosts: 16, shape: .llama31_70B,
                             flopsPerSecond: 1e15, linkBytesPerSecond: 50e9)
        #expect(miss.choice == .ring && miss.reason.contains("smaller"))
    }

    @Test(arguments: [nil, CachedPrefix.share(0.95)])
    func theRulesChoiceIsTheFasterExchange(cached: CachedPrefix?) throws {
        var base = ProjectionSweep(models: [.llama31_70B], contexts: [128 * 1024])
        base.hosts = [16]
        base.gpusPerHost = [8]
        base.device = "h100-sxm"
        base.intraHostLink = "nvlink-h100"
        base.interHostLink = "ib-ndr"
        base.methods = [.ringZigzag, .ringZigzagPassQ]
        base.generate = 2
        base.cached = cached
        let c = PatternComparison(base: base, patterns: try PatternComparison.Pattern.parseList("ring-zigzag,ring-zigzag-passq"),
                                  parallel: false)
        let kv = try #require(c.rows[0].result.timeToFirstToken), q = try #require(c.rows[1].result.timeToFirstToken)
        let rule = try #require(PatternComparison.passQRule(c.rows[1].result.config))
        #expect(rule.choice == (q < kv ? .passQ : .ring), "pass-KV \(kv) s, pass-Q \(q) s, rule: \(rule.reason)")
        #expect(rule.choice == (cached == nil ? .ring : .passQ))
        #expect(c.rows[1].verdict.contains("Meta's rule picks"))
        if let cached {
            #expect(c.rows[0].result.config.cachedLength == cached.tokens(of: 128 * 1024))
            #expect(c.rows[0].verdict.contains("Meta's rule picks pass-Q"))
        }
    }

    @Test func cachedPrefixInputsAreChecked() throws {
        #expect(try CachedPrefix.parse("120K") == .tokens(120 * 1024))
        #expect(try CachedPrefix.parse("90%") == .share(0.9))
        for bad in ["100%", "-5%", "abc", "%"] {
            #expect(throws: StarSimError.self, "\(bad)") { try CachedPrefix.parse(bad) }
        }
        // A cached prefix with a method that encodes its whole context.
        var config = ProjectionConfig(model: .llama31_8B, method: .star, contextLength: 64 * 1024, hosts: 4)
        config.cachedLength = 1024
        #expect(throws: StarSimError.self) { try config.attentionMethod() }
        config.method = .ringZigzagPassQ
        guard case .ring(let plan) = try config.attentionMethod() else { Issue.record("not a ring"); return }
        #expect(plan.cachedLength == 1024 && plan.exchange == .passQ)
        // Too much cached: the new tokens need one per chunk; the scenario field is named.
        let yaml = "prompt: {kind: passkey}\ncluster: {hosts: 4}\nmethods: [{ring: {exchange: pass-q, cached: 98}}]\n"
        let s = try Scenario.parse(ConfigNode.parse(yaml, file: "a.yaml"))
        do {
            _ = try s.methods[0].plan(contextLength: 100, queryLength: 4, hosts: 4, field: "methods[0]")
            Issue.record("98 of 100 tokens cached on 4 hosts was accepted")
        } catch {
            #expect(error.description.contains("methods[0].ring-passq.cached"), "\(error)")
        }
        #expect(throws: ConfigError.self) {
            try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\nmethods: [{ring: {cached: -1}}]\n", file: "a.yaml"))
        }
    }
}

/// `compare:` sections: the sweep fields plus patterns and cached, strict, in a standalone file or in
/// a scenario (which `run` still runs, checking the section).
@Suite struct CompareSectionTests {
    @Test func theExampleFileLoads() throws {
        let s = try #require(try PatternComparison.Section.load(file: repositoryRoot + "/scenarios/patterns/compare-70b-16hosts.yaml"))
        #expect(s.patterns.map(\.description) == ["star", "star+tree", "apb", "ring", "ring-zigzag", "ring-zigzag-passq", "allgather-zigzag", "ulysses", "usp"])
        #expect(s.sweep.contexts == [128 * 1024, 1024 * 1024] && s.sweep.hosts == [16] && s.sweep.gpusPerHost == [8])
        #expect(s.sweep.device == "h100-sxm" && s.sweep.generate == 16 && s.cached == nil)
        // A scenario without the section is not a comparison file.
        #expect(try PatternComparison.Section.load(file: repositoryRoot + "/scenarios/patterns/ulysses-3hosts.yaml") == nil)
    }

    @Test(arguments: [
        ("compare: {model: llama-3.1-8b, context: [8K], patterns: [flash]}", "compare.patterns"),
        ("compare: {model: llama-3.1-8b, context: [8K], methods: [star]}", "methods"),
        ("compare: {model: llama-3.1-8b, context: [8K], cached: 120%}", "cached"),
        ("compare: {model: llama-3.1-8b, context: [8K], cached: 50%, patterns: [star]}", "patterns"),
        ("compare: {model: llama-3.1-8b, context: [8K], hostz: 4}", "hostz"),
        ("compare: {context: [8K]}", "model"),
        ("compare: [star]", "compare"),
    ])
    func badSectionsNameTheField(yaml: String, field: String) throws {
        do {
            _ = try PatternComparison.Section.parse(ConfigNode.parse(yaml, file: "c.yaml").required("compare", expected: "a mapping"))
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.description.contains(field), "\(error)")
        }
    }

    @Test func sweepsTakeACachedPrefixForRingMethods() throws {
        let sweep = try ProjectionSweep.parse(ConfigNode.parse(
            "model: llama-3.1-8b\ncontext: [8K, 16K]\nhosts: 4\nmethods: [ring-zigzag, ring-zigzag-passq]\ncached: 50%\n", file: "s.yaml"))
        #expect(sweep.configs().map { $0.cachedLength ?? -1 } == [4096, 4096, 8192, 8192])
        for (yaml, words) in [
            ("model: llama-3.1-8b\ncontext: [8K]\nmethods: [star]\ncached: 1K\n", "star encodes its whole context"),
            ("model: llama-3.1-8b\ncontext: [8K]\nhosts: 4\nmethods: [ring]\ncached: 8190\n", "2·hosts (8)"),
        ] {
            do {
                _ = try ProjectionSweep.parse(ConfigNode.parse(yaml, file: "s.yaml"))
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.description.contains(words) && error.description.contains("cached"), "\(error)")
            }
        }
    }

    /// One row per pattern and point, however many methods the patterns span (the `--html` bound
    /// counts these rows); Meta's rule on every pass-Q row (striped too) and on pass-KV rows only with
    /// a cached prefix.
    @Test func aComparisonHasOneRowPerPatternAndPoint() throws {
        var base = ProjectionSweep(models: [.llama31_8B], contexts: [8 * 1024, 16 * 1024])
        base.hosts = [4]
        base.gpusPerHost = [1]
        let patterns = try PatternComparison.Pattern.parseList("star,ring-zigzag,ring-striped-passq,ulysses,apb")
        base.methods = PatternComparison.uniquedMethods(patterns)
        let rows = PatternComparison.configurations(base: base, patterns: patterns)
        #expect(rows.count == 2 * 5)
        #expect(rows.map(\.0.description) == (patterns + patterns).map(\.description))
        let striped = try #require(rows.first { $0.0.method == .ringStripedPassQ }?.1)
        #expect(PatternComparison.passQRule(striped) != nil)
        let passKV = try #require(rows.first { $0.0.method == .ringZigzag }?.1)
        #expect(PatternComparison.passQRule(passKV) == nil)
        var cachedKV = passKV
        cachedKV.cachedLength = 4096
        #expect(PatternComparison.passQRule(cachedKV) != nil)
    }

    @Test func aScenarioMayCarryOne() throws {
        let good = "prompt: {kind: passkey}\nmethods: [global]\ncompare: {model: llama-3.1-8b, context: [8K], hosts: 4, cached: 75%}\n"
        #expect(try Scenario.parse(ConfigNode.parse(good, file: "s.yaml")).methods.map(\.name) == ["global"])
        let section = try PatternComparison.Section.parse(ConfigNode.parse(good, file: "s.yaml").required("compare", expected: "a mapping"))
        #expect(section.cached == .share(0.75) && section.patterns.map(\.description) == PatternComparison.defaultCachedPatterns.split(separator: ",").map(String.init))
        let bad = "prompt: {kind: passkey}\nmethods: [global]\ncompare: {model: llama-3.1-8b, context: [8K], patterns: nope}\n"
        #expect(throws: ConfigError.self) { try Scenario.parse(ConfigNode.parse(bad, file: "s.yaml")) }
    }
}
