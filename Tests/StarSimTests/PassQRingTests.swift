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
