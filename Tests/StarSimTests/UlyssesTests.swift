import Cluster
import ConfigFiles
import DistributedAttention
import Foundation
import Llama
import Testing
import TestSupport
@testable import StarSim

/// Ulysses (`UlyssesPlan`, method `ulysses`): exact against the model's own single-process forward
/// pass on a tiny model with 8 heads over 4 KV heads (1, 2 and 4 hosts), bytes per host equal to the
/// guide's closed form (written out here), the degree bounded by the KV heads with an error naming it,
/// and usable by name everywhere.
@Suite struct UlyssesTests {
    static let config = LlamaConfig(
        hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 8, kvHeadCount: 4, headDim: 8,
        vocabularySize: 259, contextLength: 512, ropeBase: 10000, rmsEpsilon: 1e-5, tiedEmbeddings: true)

    static let session: ModelSession = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-tiny-ulysses-\(getpid()).gguf").path
        try! TinyLlama.write(config: config, seed: 23, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try! ModelSession(path: path)
    }()

    /// Logits before each of `steps` greedy tokens from one process with exact attention.
    static func reference(_ p: ModelSession.SplitPrompt, steps: Int) throws -> [[Float]] {
        var hook = GlobalAttention(config: session.model.config)
        return try DistributedExecutionTests.greedyLogits(session, p, steps: steps, hook: &hook)
    }

    /// Runs `plan` on a random prompt of its lengths and expects the reference's logits (max |Δlogit|
    /// ≤ 1e-3) and tokens for `steps` tokens; returns the run (for its counters).
    static func expectExact(_ plan: UlyssesPlan, steps: Int, seed: UInt64) throws -> MethodOutcome {
        let p = DistributedExecutionTests.prompt(context: plan.contextLength, query: plan.queryLength, seed: seed)
        let reference = try Self.reference(p, steps: steps)
        let outcome = try Self.session.execute(.ulysses(plan), name: "ulysses", prompt: p,
                                               setup: DistributedExecutionTests.setup(hosts: plan.hosts), maxNewTokens: steps)
        let diff = DistributedExecutionTests.maxDifference(outcome.logits, reference)
        #expect(outcome.logits.count == reference.count)
        #expect(diff <= 1e-3, "\(AttentionMethod.ulysses(plan)): max |Δlogit| = \(diff)")
        #expect(outcome.generated.prefix(reference.count) == reference.map { LlamaModel.argmax($0) }[...])
        return outcome
    }

    /// 1, 2, 4 hosts split the 4 KV heads; 8 hosts replicate each on 2 (one query head per host).
    @Test(arguments: [1, 2, 4, 8])
    func ulyssesIsExact(hosts: Int) throws {
        let context = 30 * hosts + 1, query = 5
        let plan = try UlyssesPlan(contextLength: context, queryLength: query, hosts: hosts)
        let outcome = try Self.expectExact(plan, steps: 4, seed: UInt64(110 + hosts))
        // Bytes: per layer each host sends its shard's Q,K,V of every other head group and every other
        // shard's output of its heads; the query host sends each decode token's inputs, the others its output.
        let s = Self.session.shape, n = outcome.generated.count
        let qkv = (s.heads / hosts + 2 * max(1, s.kvHeads / hosts)) * s.headDim * s.bytesPerElement
        let out = s.heads / hosts * s.headDim * s.bytesPerElement
        for h in 0..<hosts {
            let mine = plan.shardTokenCount(h)
            let prefill = s.layers * ((hosts - 1) * mine * qkv + (context - mine) * out)
            let decodeTokens = query + n - 1
            let decode = hosts == 1 ? 0 : s.layers * decodeTokens * (h == plan.queryHost ? (hosts - 1) * qkv : out)
                + (h == plan.queryHost ? (hosts - 1) * n * 4 : 0)
            let c = outcome.counters.host(HostID(h))
            #expect(c?.sentByPhase[Phase.contextEncoding.tag] ?? 0 == prefill, "host\(h) prefill")
            #expect(c?.bytesSent ?? 0 == prefill + decode, "host\(h) total")
        }
    }

    /// USP: Ulysses degree × ring degree = hosts on the tiny model (4 KV heads). Exact, and the bytes
    /// per host equal the closed form written out: the all-to-alls inside the ring group as Ulysses'
    /// on `U` hosts, plus every ring block but the next ring group's, `2·kvHeads/U` heads per token.
    @Test(arguments: [(2, 2), (4, 2), (6, 3), (8, 2), (8, 4)])
    func uspIsExact(hosts: Int, ringDegree: Int) throws {
        let context = 24 * hosts + 5, query = 4
        let plan = try UlyssesPlan(contextLength: context, queryLength: query, hosts: hosts, ringDegree: ringDegree)
        let outcome = try Self.expectExact(plan, steps: 3, seed: UInt64(140 + hosts + ringDegree))
        let s = Self.session.shape, n = outcome.generated.count, u = hosts / ringDegree
        let qkv = (s.heads + 2 * s.kvHeads) / u * s.headDim * s.bytesPerElement
        let out = s.heads / u * s.headDim * s.bytesPerElement
        let kvBlock = 2 * s.kvHeads / u * s.headDim * s.bytesPerElement
        // Ring group r holds zigzag chunks r and 2R−1−r of the context.
        func chunk(_ c: Int) -> Int { context / (2 * ringDegree) + (c < context % (2 * ringDegree) ? 1 : 0) }
        func group(_ r: Int) -> Int { chunk(r) + chunk(2 * ringDegree - 1 - r) }
        for h in 0..<hosts {
            let r = h / u, mine = plan.shardTokenCount(h)
            let prefill = s.layers * ((u - 1) * mine * qkv + (group(r) - mine) * out
                                      + (context - group((r + 1) % ringDegree)) * kvBlock)
            let decodes = r == ringDegree - 1 && u > 1
            let decode = !decodes ? 0 : s.layers * (query + n - 1) * (h == plan.queryHost ? (u - 1) * qkv : out)
                + (h == plan.queryHost ? (u - 1) * n * 4 : 0)
            let c = outcome.counters.host(HostID(h))
            #expect(c?.sentByPhase[Phase.contextEncoding.tag] ?? 0 == prefill, "host\(h) prefill")
            #expect(c?.bytesSent ?? 0 == prefill + decode, "host\(h) total")
        }
    }

    /// USP by name: the default ring degree from the KV heads, an explicit one, errors naming the
    /// option as written, and a 16-host 70B projection (which plain Ulysses refuses) whose bytes
    /// equal the closed form.
    @Test func uspEverywhere() throws {
        let s = try Scenario.parse(ConfigNode.parse(
            "prompt: {kind: passkey}\ncluster: {hosts: 6}\nmethods: [global, usp, {usp: {ring-degree: 6}}]\n", file: "u.yaml"))
        #expect(s.methods.map(\.name) == ["global", "usp", "usp-r6"])
        #expect(try MethodKind.parse("usp") == .usp)
        guard case .ulysses(let auto) = try s.methods[1].plan(contextLength: 120, queryLength: 4, hosts: 6, field: "methods[1]", shape: .smolLM2_135M),
              case .ulysses(let six) = try s.methods[2].plan(contextLength: 120, queryLength: 4, hosts: 6, field: "methods[2]", shape: .smolLM2_135M) else {
            Issue.record("usp did not plan Ulysses"); return
        }
        #expect(auto.headDegree == 3 && auto.ringDegree == 2 && six.headDegree == 1 && six.ringDegree == 6)
        #expect(UlyssesPlan.smallestRingDegree(hosts: 16, shape: .llama31_70B) == 2)
        #expect(UlyssesPlan.smallestRingDegree(hosts: 12, shape: .llama31_8B) == 3)
        let bad = try Scenario.parse(ConfigNode.parse(
            "prompt: {kind: passkey}\ncluster: {hosts: 6}\nmethods: [{usp: {ring-degree: 3}}]\n", file: "v.yaml"))
        do {
            _ = try bad.methods[0].plan(contextLength: 120, queryLength: 4, hosts: 6, field: "methods[0]", shape: .smolLM2_135M)
            Issue.record("ring degree 3 on 6 hosts (Ulysses degree 2 over 3 KV heads) was planned")
        } catch {
            #expect(error.description.hasPrefix("methods[0].usp.ring-degree") && error.description.contains("ring degrees for 6 hosts: 2, 6"), "\(error)")
        }
        #expect(throws: ConfigError.self) {
            _ = try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\nmethods: [{ulysses: {ring-degree: 2}}]\n", file: "w.yaml"))
        }
        let r = CapacityProjection.project(ProjectionConfig(model: .llama31_70B, method: .usp, contextLength: 128 * 1024, hosts: 16,
                                                            gpusPerHost: 8, device: "h100-sxm", intraHostLink: "nvlink-h100",
                                                            interHostLink: "ib-ndr", generateTokens: 2))
        #expect(r.status == .ok, "\(r.status)")
        let plan = try UlyssesPlan(contextLength: 128 * 1024, queryLength: r.config.queryLength, hosts: 16, ringDegree: 2)
        let analytic = plan.analyticTraffic(shape: .llama31_70B, sampledTokens: 2)
        for h in 0..<16 {
            for phase in Phase.allCases {
                let sent = r.hostBytes.filter { $0.name == "host\(h)" && $0.phase == phase }.map(\.bytes).reduce(0, +)
                #expect(sent == analytic[h, phase], "host\(h) \(phase)")
            }
        }
    }

    @Test func theDegreeIsBoundedByTheKVHeads() throws {
        let p = DistributedExecutionTests.prompt(context: 40, query: 3, seed: 5)
        let plan = try UlyssesPlan(contextLength: 40, queryLength: 3, hosts: 3)
        #expect(throws: PlanError.self) {
            _ = try Self.session.execute(.ulysses(plan), name: "ulysses", prompt: p,
                                         setup: DistributedExecutionTests.setup(hosts: 3), maxNewTokens: 2)
        }
        // A projection fails with the bound in its message.
        let r = CapacityProjection.project(ProjectionConfig(model: .llama31_8B, method: .ulysses, contextLength: 64 * 1024, hosts: 12,
                                                            device: "h100-sxm", intraHostLink: "nvlink-h100", interHostLink: "ib-ndr"))
        guard case .failed(let message) = r.status else { Issue.record("12-way Ulysses on 32 heads / 8 KV heads ran: \(r.status)"); return }
        #expect(message.contains("heads allow (1, 2, 4, 8, 16, 32)"), "\(message)")
    }

    @Test func everyFrontEndKnowsIt() throws {
        let s = try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\ncluster: {hosts: 3}\nmethods: [global, ulysses]\n", file: "a.yaml"))
        #expect(s.methods.map(\.name) == ["global", "ulysses"])
        #expect(try MethodKind.parse("ulysses") == .ulysses)
        // The narration says which host attended the probed head (SmolLM2: 9 heads in 3 groups of 3).
        let three = AttentionMethod.ulysses(try UlyssesPlan(contextLength: 90, queryLength: 4, hosts: 3))
        #expect(Narration.ulyssesHost(of: 4, heads: 9, three)?.host == 1 && Narration.ulyssesHost(of: 8, heads: 9, three)?.host == 2)
        #expect(Narration.ulyssesHost(of: 0, heads: 9, .global(try GlobalPlan(contextLength: 90, queryLength: 4))) == nil)
        // A scenario whose cluster is too large for the model's KV heads is refused before it runs.
        let four = try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\ncluster: {hosts: 4}\nmethods: [ulysses]\n", file: "b.yaml"))
        do {
            _ = try four.methods[0].plan(contextLength: 100, queryLength: 4, hosts: 4, field: "methods[0]", shape: .smolLM2_135M)
            Issue.record("4-way Ulysses on SmolLM2's 9 heads / 3 KV heads was planned")
        } catch {
            #expect(error.description.hasPrefix("cluster.hosts") && error.description.contains("heads allow (1, 3, 9)"), "\(error)")
        }
        // Projected: the bytes equal the closed form; the same all-to-all bytes whatever the causal mask.
        let r = CapacityProjection.project(ProjectionConfig(model: .llama31_8B, method: .ulysses, contextLength: 64 * 1024, hosts: 8,
                                                            device: "h100-sxm", intraHostLink: "nvlink-h100", interHostLink: "ib-ndr",
                                                            generateTokens: 2))
        #expect(r.status == .ok)
        let plan = try UlyssesPlan(contextLength: 64 * 1024, queryLength: r.config.queryLength, hosts: 8)
        let analytic = plan.analyticTraffic(shape: .llama31_8B, sampledTokens: 2)
        for h in 0..<8 {
            for phase in Phase.allCases {
                let sent = r.hostBytes.filter { $0.name == "host\(h)" && $0.phase == phase }.map(\.bytes).reduce(0, +)
                #expect(sent == analytic[h, phase], "host\(h) \(phase)")
            }
        }
    }
}

/// `ProjectionConfig.estimatedEvents` (the sweep's work budget) is at or above the events a run
/// handles, for the patterns added after the factors were measured: pass-Q, Ulysses and APB.
@Suite struct EventEstimateTests {
    @Test(arguments: [2, 4, 8, 16, 32])
    func theEstimateCoversTheRun(hosts: Int) throws {
        let session = UlyssesTests.session
        let spec = ModelSpec(name: "tiny", shape: session.shape, tiedEmbeddings: true)
        for kind in [MethodKind.ringPassQ, .ringZigzagPassQ, .ulysses, .usp, .apb, .ring] {
            if kind == .ulysses && session.shape.kvHeads % hosts != 0 { continue }
            let context = 64 * hosts, tokens = 3
            let plan = try MethodSpec(kind: kind).plan(contextLength: context, queryLength: 4, hosts: hosts, shape: session.shape)
            let run = try session.modeledRun(plan, name: kind.rawValue, setup: DistributedExecutionTests.setup(hosts: hosts), tokens: tokens)
            var config = ProjectionConfig(model: spec, method: kind, contextLength: context, queryLength: 4, hosts: hosts)
            config.generateTokens = tokens
            #expect(run.report.eventsProcessed <= config.estimatedEvents,
                    "\(kind.rawValue) on \(hosts) hosts: \(run.report.eventsProcessed) events, estimate \(config.estimatedEvents)")
        }
    }
}
