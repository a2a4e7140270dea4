import Cluster
import ConfigFiles
import DistributedAttention
import Foundation
import Kernels
import Llama
import Testing
import TestSupport
@testable import StarSim

/// APB (`APBPlan`, method `apb`). With the `recent` selection the passing tokens do not depend on the
/// data, so one single-process forward pass with APB's mask — token `t` of block `i > 0` sees the
/// anchor, the earlier blocks' passing tokens and its own block up to `t`; block 0 and the query see
/// every earlier token — is an independent reference; the SnapKV selection is checked for what it
/// keeps. Bytes equal the closed form.
@Suite struct APBTests {
    /// Exact attention restricted by `visible(queryPosition, keyPosition)`, over every K,V seen so far.
    struct MaskedAttention: AttentionHook {
        var cache: KVCache
        let geometry: AttentionGeometry
        let visible: @Sendable (Int32, Int32) -> Bool

        init(config: LlamaConfig, visible: @escaping @Sendable (Int32, Int32) -> Bool) {
            cache = KVCache(config: config)
            geometry = LlamaModel.attentionGeometry(config)
            self.visible = visible
        }

        mutating func attend(layer: Int, _ qkv: LayerQKV) -> AttentionPartial {
            cache.append(layer: layer, k: qkv.k, v: qkv.v, positions: qkv.positions)
            let keys = cache.keys[layer], values = cache.values[layer], positions = cache.positions[layer]
            var output: [Float] = [], lse: [Float] = []
            let w = geometry.kvWidth, qw = geometry.queryWidth
            for (row, p) in qkv.positions.enumerated() {
                let rows = positions.indices.filter { visible(p, positions[$0]) }
                let part = FlashAttention.attend(
                    geometry: geometry, queries: Array(qkv.q[(row * qw)..<((row + 1) * qw)]), queryPositions: [p],
                    keys: rows.flatMap { keys[($0 * w)..<(($0 + 1) * w)] }, values: rows.flatMap { values[($0 * w)..<(($0 + 1) * w)] },
                    keyPositions: rows.map { positions[$0] })
                output += part.output
                lse += part.lse
            }
            return AttentionPartial(output: output, lse: lse, queries: qkv.positions.count, geometry: geometry)
        }
    }

    /// Logits before each of `steps` greedy tokens with APB's mask for `plan` (recent selection).
    static func reference(_ plan: APBPlan, _ p: ModelSession.SplitPrompt, steps: Int) throws -> [[Float]] {
        let session = DistributedExecutionTests.session, model = session.model
        let passing = Set((0..<max(plan.hosts - 1, 0)).flatMap { plan.candidates($0).suffix(plan.passingSize).map { Int32($0) } })
        let blockSize = Int32(plan.star.blockSize), anchor = Int32(plan.anchorSize), context = Int32(plan.contextLength)
        let visible: @Sendable (Int32, Int32) -> Bool = { q, k in
            guard k <= q else { return false }
            let block = q / blockSize
            if q >= context || block == 0 { return true }
            return k < anchor || k >= block * blockSize || (passing.contains(k) && k / blockSize < block)
        }
        var hook = MaskedAttention(config: model.config, visible: visible)
        return try DistributedExecutionTests.greedyLogits(session, p, steps: steps, hook: &hook)
    }

    @Test(arguments: [1, 2, 3, 4])
    func apbWithRecentPassingEqualsItsMaskedReference(hosts: Int) throws {
        let context = 40 * hosts - 3, query = 5
        let p = DistributedExecutionTests.prompt(context: context, query: query, seed: UInt64(130 + hosts))
        let plan = try APBPlan(contextLength: context, queryLength: query, hosts: hosts, anchorSize: 6, passingSize: 5, selection: .recent)
        let reference = try Self.reference(plan, p, steps: 4)
        let outcome = try DistributedExecutionTests.run(.apb(plan), p, steps: 4)
        let diff = DistributedExecutionTests.maxDifference(outcome.logits, reference)
        #expect(outcome.logits.count == reference.count)
        #expect(diff <= 1e-3, "apb on \(hosts) hosts: max |Δlogit| = \(diff)")
        // Bytes: each host but the last sends its passing block to every later host at every layer.
        let s = DistributedExecutionTests.session.shape
        for h in 0..<hosts {
            let sent = outcome.counters.host(HostID(h))?.sentByPhase[Phase.contextEncoding.tag] ?? 0
            #expect(sent == s.layers * (hosts - 1 - h) * 5 * 2 * s.kvHeads * s.headDim * s.bytesPerElement, "host\(h)")
        }
        let analytic = plan.analyticTraffic(shape: s, sampledTokens: outcome.generated.count)
        for c in outcome.counters.hosts {
            #expect(c.bytesSent == Phase.allCases.reduce(0) { $0 + analytic[c.host.rawValue, $1] })
        }
        // APB differs from Star with the same blocks and anchor (it sees more) unless nothing is passed.
        if hosts > 1 {
            let star = try DistributedExecutionTests.run(.star(plan.star), p, steps: 4)
            #expect(DistributedExecutionTests.maxDifference(star.logits, outcome.logits) > 1e-3)
        }
    }

    @Test func snapKVKeepsTheTokensTheBlocksLastQueriesAttendTo() throws {
        // One block whose last queries attend to few earlier keys: the kept tokens are a subset of the
        // candidates, sorted, and the run is deterministic.
        let context = 90, query = 4
        let p = DistributedExecutionTests.prompt(context: context, query: query, seed: 140)
        let plan = try APBPlan(contextLength: context, queryLength: query, hosts: 3, anchorSize: 5, passingSize: 6, window: 8)
        let a = try DistributedExecutionTests.run(.apb(plan), p, steps: 3)
        let b = try DistributedExecutionTests.run(.apb(plan), p, steps: 3)
        #expect(a.logits == b.logits && a.generated == b.generated)
        let recent = try APBPlan(contextLength: context, queryLength: query, hosts: 3, anchorSize: 5, passingSize: 6, selection: .recent)
        let r = try DistributedExecutionTests.run(.apb(recent), p, steps: 3)
        // Scores pick other tokens than recency on random weights.
        #expect(DistributedExecutionTests.maxDifference(a.logits, r.logits) > 0)
    }

    @Test func inputsAreChecked() throws {
        #expect(throws: PlanError.self) { try APBPlan(contextLength: 64, queryLength: 2, hosts: 4, anchorSize: 4, passingSize: 13) }
        do { _ = try APBPlan(contextLength: 64, queryLength: 2, hosts: 4, anchorSize: 4, passingSize: 13) } catch {
            #expect(error.field == "APBPlan.passingSize" && error.description.contains("1 to 12"))
        }
        let s = try Scenario.parse(ConfigNode.parse(
            "prompt: {kind: passkey}\nmethods: [apb, {apb: {anchor: 64, passing: 32, selection: recent, window: 16, phase2: tree}}]\n",
            file: "a.yaml"))
        #expect(s.methods.map(\.name) == ["apb", "apb-recent+tree"])
        #expect(throws: ConfigError.self) {
            try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\nmethods: [{apb: {selection: trained}}]\n", file: "a.yaml"))
        }
        #expect(try MethodKind.parse("apb") == .apb)
        // Projected: the passing bytes follow the closed form.
        let r = CapacityProjection.project(ProjectionConfig(model: .llama31_8B, method: .apb, contextLength: 64 * 1024, hosts: 8,
                                                            device: "h100-sxm", intraHostLink: "nvlink-h100", interHostLink: "ib-ndr",
                                                            generateTokens: 2))
        #expect(r.status == .ok)
        let plan = try APBPlan(contextLength: 64 * 1024, queryLength: r.config.queryLength, hosts: 8)
        let analytic = plan.analyticTraffic(shape: .llama31_8B, sampledTokens: 2)
        for h in 0..<8 {
            let sent = r.hostBytes.filter { $0.name == "host\(h)" && $0.phase == .contextEncoding }.map(\.bytes).reduce(0, +)
            #expect(sent == analytic[h, .contextEncoding], "host\(h)")
        }
    }
}
