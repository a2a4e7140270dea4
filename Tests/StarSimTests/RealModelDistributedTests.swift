import DistributedAttention
import Foundation
import StarSim
import Testing

/// The real SmolLM2 across simulated hosts. Disabled when the model file is absent, unless
/// `STARSIM_REQUIRE_MODEL=1` (the test script sets it), in which case absence is a failure.
enum RealSmolLM2 {
    static var present: Bool { FileManager.default.fileExists(atPath: StarSimPaths.defaultModelFile) }
    static var shouldRun: Bool { present || StarSimPaths.modelRequired }
    static let session: ModelSession? = try? ModelSession(path: nil)

    static func loaded() throws -> ModelSession {
        try #require(session, "STARSIM_REQUIRE_MODEL=1 but \(StarSimPaths.defaultModelFile) could not be loaded")
    }

    static func setup(hosts: Int) throws -> ClusterSetup {
        try ClusterSetup.named(hosts: hosts, gpusPerHost: 1, device: "cpu-local", intraHostLink: "nvlink-a100",
                               interHostLink: "ib-hdr", shape: .fullyConnected)
    }
}

@Suite(.serialized, .enabled(if: RealSmolLM2.shouldRun, "SmolLM2 GGUF not found (set STARSIM_MODEL)"))
struct RealModelDistributedTests {
    /// Runs global attention and each plan `plans(L, q)` makes on the ~`context`-token passkey prompt
    /// and expects the same generated tokens and max |Δlogit| ≤ 1e-3.
    static func expectEqualsGlobal(context: Int, seed: UInt64, hosts: Int,
                                   _ plans: (_ L: Int, _ q: Int, _ shape: ModelShape) throws -> [AttentionMethod]) throws {
        let session = try RealSmolLM2.loaded()
        let prompt = session.prepare(task: EvaluationTask(kind: .passkey, contextTokens: context, seed: seed))
        let L = prompt.split.context.count, q = prompt.split.query.count
        let global = try session.execute(.global(GlobalPlan(contextLength: L, queryLength: q)), name: "global",
                                         prompt: prompt.split, setup: RealSmolLM2.setup(hosts: 1), maxNewTokens: 6)
        for plan in try plans(L, q, session.shape) {
            let run = try session.execute(plan, name: "exact", prompt: prompt.split, setup: RealSmolLM2.setup(hosts: hosts), maxNewTokens: 6)
            #expect(run.generated == global.generated, "\(plan)")
            let diff = DistributedExecutionTests.maxDifference(run.logits, global.logits)
            #expect(diff <= 1e-3, "\(plan), \(L) tokens: max |Δlogit| = \(diff)")
        }
    }

    /// Ring Attention and the patterns built on its plan are exact: same tokens as global, max |Δlogit|
    /// ≤ 1e-3, on a ~1K-token prompt with 2, 4 and 8 hosts, a ~4K-token prompt with 4 hosts and a
    /// ~8K-token prompt (the model's trained context) with 8 hosts — contiguous, zigzag and striped
    /// rings, the zigzag pass-Q ring, zigzag all-gather CP, and tree decoding after the zigzag ring.
    @Test(arguments: [(1000, 2), (1000, 4), (1000, 8), (4000, 4), (8000, 8)])
    func ringEqualsGlobal(context: Int, hosts: Int) throws {
        let variants: [(RingPlan.Partition, RingPlan.Exchange, Phase2Pattern)] = [
            (.contiguous, .ring, .gatherBroadcast), (.zigzag, .ring, .gatherBroadcast), (.striped, .ring, .gatherBroadcast),
            (.zigzag, .passQ, .gatherBroadcast), (.zigzag, .allGather, .gatherBroadcast), (.zigzag, .ring, .tree),
        ]
        try Self.expectEqualsGlobal(context: context, seed: 7, hosts: hosts) { L, q, _ in
            try variants.map {
                .ring(try RingPlan(contextLength: L, queryLength: q, hosts: hosts, partition: $0.0, phase2: $0.2, exchange: $0.1))
            }
        }
    }

    /// Ulysses is exact on SmolLM2 (9 heads over 3 KV heads: 3 hosts, or 9 with each KV head
    /// replicated on 3): same tokens as global, max |Δlogit| ≤ 1e-3, at ~1K, ~4K and ~8K tokens.
    @Test(arguments: [(1000, 3), (4000, 3), (8000, 3), (1000, 9)])
    func ulyssesEqualsGlobal(context: Int, hosts: Int) throws {
        try Self.expectEqualsGlobal(context: context, seed: 7, hosts: hosts) { L, q, _ in
            [.ulysses(try UlyssesPlan(contextLength: L, queryLength: q, hosts: hosts))]
        }
    }

    /// USP is exact on SmolLM2: 6 hosts = Ulysses 3 × ring 2 (1K, 8K) and 4 hosts = 1 × ring 4 (4K,
    /// the KV heads allow no Ulysses degree dividing 4 but 1): same tokens as global, max |Δlogit| ≤ 1e-3.
    @Test(arguments: [(1000, 6), (4000, 4), (8000, 6)])
    func uspEqualsGlobal(context: Int, hosts: Int) throws {
        try Self.expectEqualsGlobal(context: context, seed: 8, hosts: hosts) { L, q, shape in
            let plan = try MethodSpec(kind: .usp).plan(contextLength: L, queryLength: q, hosts: hosts, shape: shape)
            guard case .ulysses(let p) = plan else { Issue.record("usp planned \(plan)"); return [] }
            #expect(p.headDegree == (hosts == 6 ? 3 : 1) && p.ringDegree == hosts / p.headDegree)
            return [plan]
        }
    }

    /// The default scenario's question answered by exact global attention through the cluster.
    @Test func globalRetrievesThePasskeyThroughTheCluster() throws {
        let session = try RealSmolLM2.loaded()
        let prompt = session.prepare(task: EvaluationTask(kind: .passkey, contextTokens: 2000, depth: 0.5, seed: 3, passkey: 52817))
        let L = prompt.split.context.count, q = prompt.split.query.count
        let o = try session.execute(.global(GlobalPlan(contextLength: L, queryLength: q)), name: "global",
                                    prompt: prompt.split, setup: RealSmolLM2.setup(hosts: 1), maxNewTokens: 8)
        let answer = session.tokenizer.decode(o.generated)
        #expect(answer.contains("52817"), "answer: \(answer)")
    }

    /// The passkey test of issue 2 with exact attention: a 5-digit key hidden at 10%, 50% and 90%
    /// depth of a ~4,000-token filler prompt in the default (completion) layout is retrieved.
    /// (In the ChatML layout the model misses 10% and 50%; see LlamaTests and Docs/Scenarios.md.)
    @Test(arguments: [0.1, 0.5, 0.9])
    func globalRetrievesThePasskeyAtEveryDepth(depth: Double) throws {
        let session = try RealSmolLM2.loaded()
        let key = 10_000 + Int(depth * 80_000) + 1_234
        let prompt = session.prepare(task: EvaluationTask(kind: .passkey, contextTokens: 4000, depth: depth, seed: 11, passkey: key))
        let L = prompt.split.context.count, q = prompt.split.query.count
        #expect(L + q > 3_800 && L + q < 4_200, "prompt has \(L + q) tokens")
        let o = try session.execute(.global(GlobalPlan(contextLength: L, queryLength: q)), name: "global",
                                    prompt: prompt.split, setup: RealSmolLM2.setup(hosts: 1), maxNewTokens: 8)
        let answer = session.tokenizer.decode(o.generated)
        #expect(answer.contains("\(key)"), "depth \(depth): answer \(answer)")
    }
}
