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
    /// Ring Attention is exact: same tokens as global, max |Δlogit| ≤ 1e-3, on a ~1K-token prompt with
    /// 2, 4 and 8 hosts (both partitions) and a ~4K-token prompt with 4 hosts.
    @Test(arguments: [(1000, 2), (1000, 4), (1000, 8), (4000, 4)])
    func ringEqualsGlobal(context: Int, hosts: Int) throws {
        let session = try RealSmolLM2.loaded()
        let prompt = session.prepare(task: EvaluationTask(kind: .passkey, contextTokens: context, seed: 7))
        let L = prompt.split.context.count, q = prompt.split.query.count
        let global = try session.execute(.global(GlobalPlan(contextLength: L, queryLength: q)), name: "global",
                                         prompt: prompt.split, setup: RealSmolLM2.setup(hosts: 1), maxNewTokens: 6)
        for partition in [RingPlan.Partition.contiguous, .zigzag] {
            let ring = try session.execute(
                .ring(RingPlan(contextLength: L, queryLength: q, hosts: hosts, partition: partition)), name: "ring",
                prompt: prompt.split, setup: RealSmolLM2.setup(hosts: hosts), maxNewTokens: 6)
            #expect(ring.generated == global.generated)
            let diff = DistributedExecutionTests.maxDifference(ring.logits, global.logits)
            #expect(diff <= 1e-3, "ring \(partition), \(hosts) hosts, \(L) tokens: max |Δlogit| = \(diff)")
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
}
