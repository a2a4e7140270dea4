import ConfigFiles
import DistributedAttention
import Foundation
import Llama
import Testing
import TestSupport
@testable import StarSim

/// All-gather context parallelism (`RingPlan.Exchange.allGather`, methods `allgather` and
/// `allgather-zigzag`): exact against the model's own single-process forward pass, bytes per host
/// equal to the closed form, and usable by name everywhere.
@Suite struct AllGatherCPTests {
    @Test(arguments: [2, 3, 4], [RingPlan.Partition.contiguous, .zigzag, .striped])
    func allGatherCPIsExact(hosts: Int, partition: RingPlan.Partition) throws {
        let context = 40 * hosts, query = 5
        let p = DistributedExecutionTests.prompt(context: context, query: query, seed: UInt64(50 + hosts))
        let reference = try DistributedExecutionTests.reference(p, steps: 4)
        for decode in [RingPlan.Decode.phase2, .lastHost] {
            let plan = try RingPlan(contextLength: context, queryLength: query, hosts: hosts, partition: partition,
                                    decode: decode, exchange: .allGather)
            let outcome = try DistributedExecutionTests.run(.ring(plan), p, steps: 4)
            let diff = DistributedExecutionTests.maxDifference(outcome.logits, reference)
            #expect(diff <= 1e-3, "all-gather \(partition) \(decode) on \(hosts) hosts: max |Δlogit| = \(diff)")
            #expect(outcome.generated.prefix(reference.count) == reference.map { LlamaModel.argmax($0) }[...])
            // Prefill bytes: a ring all-gather passes every other host's shard on, every layer (shards are equal here).
            let shape = DistributedExecutionTests.session.shape
            for h in 0..<hosts {
                let own = plan.runs(onHost: h).reduce(0) { $0 + $1.count }
                let expected = (hosts - 1) * shape.layers * own * 2 * shape.kvHeads * shape.headDim * shape.bytesPerElement
                let sent = outcome.counters.host(HostID(h))?.sentByPhase[Phase.contextEncoding.tag] ?? 0
                #expect(sent == expected, "host\(h): \(sent) B sent in prefill, expected \(expected)")
            }
            // The whole run's bytes follow the plan's formula.
            let analytic = plan.analyticTraffic(shape: shape, sampledTokens: outcome.generated.count)
            for h in outcome.counters.hosts {
                #expect(h.bytesSent == Phase.allCases.reduce(0) { $0 + analytic[h.host.rawValue, $1] })
            }
        }
    }

    @Test func everyFrontEndKnowsIt() throws {
        let s = try Scenario.parse(ConfigNode.parse(
            "prompt: {kind: passkey}\nmethods: [allgather, allgather-zigzag, allgather-striped, {ring: {exchange: all-gather, phase2: tree}}]\n",
            file: "a.yaml"))
        #expect(s.methods.map(\.name) == ["allgather", "allgather-zigzag", "allgather-striped", "allgather+tree"])
        #expect(s.methods[2] == MethodSpec(kind: .allGatherStriped))
        #expect(try MethodKind.parse("allgather-zigzag") == .allGatherZigzag)
        // Projected: a ring all-gather moves the ring's bytes over the ring's links.
        func project(_ m: MethodKind) -> ProjectionResult {
            CapacityProjection.project(ProjectionConfig(model: .llama31_8B, method: m, contextLength: 64 * 1024, hosts: 8,
                                                        gpusPerHost: 1, device: "h100-sxm", intraHostLink: "nvlink-h100",
                                                        interHostLink: "ib-ndr"))
        }
        let ring = project(.ring), gather = project(.allGather), zigzag = project(.allGatherZigzag)
        #expect(ring.status == .ok && gather.status == .ok && zigzag.status == .ok)
        func contextBytes(_ r: ProjectionResult) -> Int { r.hostBytes.filter { $0.phase == .contextEncoding }.map(\.bytes).reduce(0, +) }
        #expect(contextBytes(gather) == contextBytes(ring))
        #expect(gather.linkBytes.filter { $0.phase == .contextEncoding } == ring.linkBytes.filter { $0.phase == .contextEncoding })
        // Every rank may hold every block of a layer at once.
        #expect(gather.peakMemoryPerHost >= ring.peakMemoryPerHost)
    }

    @Test func thePatternScenariosLoad() throws {
        let a = try Scenario.load(file: repositoryRoot + "/scenarios/patterns/allgather-cp-4hosts.yaml")
        #expect(a.methods.map(\.name) == ["global", "ring-zigzag", "allgather-zigzag"])
        let t = try Scenario.load(file: repositoryRoot + "/scenarios/patterns/tree-decoding-8hosts.yaml")
        #expect(t.methods.map(\.name) == ["global", "star", "star+tree", "ring-zigzag+tree"])
        let q = try Scenario.load(file: repositoryRoot + "/scenarios/patterns/passq-followup-4hosts.yaml")
        #expect(q.methods.map(\.name) == ["global", "ring-zigzag", "ring-zigzag-passq"])
        for m in q.methods.dropFirst() {
            guard case .ring(let o) = m else { Issue.record("\(m.name) is not a ring"); continue }
            #expect(o.cachedLength == 1800)
        }
        let u = try Scenario.load(file: repositoryRoot + "/scenarios/patterns/ulysses-3hosts.yaml")
        #expect(u.methods.map(\.name) == ["global", "ring-zigzag", "ulysses"])
        let apb = try Scenario.load(file: repositoryRoot + "/scenarios/patterns/apb-vs-star-4hosts.yaml")
        #expect(apb.methods.map(\.name) == ["global", "star", "apb", "apb-recent"])
        let usp = try Scenario.load(file: repositoryRoot + "/scenarios/patterns/usp-6hosts.yaml")
        #expect(usp.methods.map(\.name) == ["global", "ring-zigzag", "usp", "usp-r6"])
        let striped = try Scenario.load(file: repositoryRoot + "/scenarios/patterns/striped-ring-4hosts.yaml")
        #expect(striped.methods.map(\.name) == ["global", "ring", "ring-zigzag", "ring-striped"])
    }
}
