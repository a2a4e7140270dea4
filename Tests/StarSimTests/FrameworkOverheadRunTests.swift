import Cluster
import DistributedAttention
import Foundation
import Projection
import StarSim
import Testing

/// The framework parameters change projected time through the same engine (programs, scheduler,
/// links) the way they should: a naive ring step costs attention + transfer, an overlapped one
/// hides the transfer; a per-message overhead adds exactly (messages on the critical path) × overhead.
@Suite struct FrameworkOverheadRunTests {
    /// 2 hosts × 1 A100 (no per-kernel overhead, so differences are only the parameters'), SmolLM2 shapes.
    static func setup(ring: RingStepParameters = .ideal, messageOverhead: Double = 0, interLink: String = "ib-hdr") throws -> ClusterSetup {
        var s = try ClusterSetup.named(hosts: 2, gpusPerHost: 1, device: "a100-80gb", intraHostLink: "nvlink-a100",
                                       interHostLink: interLink, shape: .fullyConnected)
        s.device.kernelOverheadSeconds = Labelled(0, .assumed("test"))
        s.topology.device.kernelOverheadSeconds = 0
        s.device.ringAttentionEfficiency = Labelled(ring.attentionEfficiency, .assumed("test"))
        s.device.ringOverlapsTransfer = Labelled(ring.overlapsTransfer, .assumed("test"))
        var link = try ProfileCatalog.link(named: interLink)
        link.messageOverheadSeconds = Labelled(messageOverhead, .assumed("test"))
        s.topology.interHostLink = link.profile
        return s
    }

    static let shape = ModelShape.smolLM2_135M

    @Test func ringStepOpCostIsAttentionPlusTransferOnlyWhenNaiveAndReceived() throws {
        let plan = try RingPlan(contextLength: 8192, queryLength: 16, hosts: 2)
        let method = AttentionMethod.ring(plan)
        let naive = try Self.setup(ring: RingStepParameters(attentionEfficiency: 0.5, overlapsTransfer: false))
        let overlapped = try Self.setup(ring: RingStepParameters(attentionEfficiency: 0.5, overlapsTransfer: true))
        let model = naive.costModel(shape: Self.shape)
        let host1 = plan.shardSegment(1)
        // Host 1's queries against host 0's block (received) and against its own block.
        let received = Op.attend(layer: 3, queries: host1, keys: plan.chunks(onHost: 0).map { .block($0) },
                                 visiblePairs: 4096 * 4096, keyTokens: 4096)
        let own = Op.attend(layer: 3, queries: host1, keys: plan.chunks(onHost: 1).map { .block($0) },
                            visiblePairs: 4096 * 4097 / 2, keyTokens: 4096)
        let step = SimDuration.seconds(model.ringStepCost(queries: 4096, keyTokens: 4096, visiblePairs: 4096 * 4096).seconds)
        let ownStep = SimDuration.seconds(model.ringStepCost(queries: 4096, keyTokens: 4096, visiblePairs: 4096 * 4097 / 2).seconds)
        let link = naive.topology.interHostLink
        let transfer = link.latency + .seconds(Double(4096 * Self.shape.kvBytesPerTokenPerLayer) / link.bandwidthBytesPerSecond)
        let naiveCost = naive.opCost(shape: Self.shape, method: method, host: 1)
        let overlappedCost = overlapped.opCost(shape: Self.shape, method: method, host: 1)
        #expect(naiveCost(received) == step + transfer)
        #expect(overlappedCost(received) == step)
        #expect(naiveCost(own) == ownStep && overlappedCost(own) == ownStep)
        // The efficiency applies to ring steps only: Star's attends of the same shape keep local efficiency.
        let star = AttentionMethod.star(try StarPlan(contextLength: 8192, queryLength: 16, blockSize: 4096, anchorSize: 4096, hosts: 2))
        #expect(naive.opCost(shape: Self.shape, method: star, host: 1)(received) == model.duration(of: received))
        #expect(model.duration(of: received) < step)
    }

    @Test func naiveRingAddsOneTransferPerLayerOnTheCriticalHost() throws {
        // 2 hosts: the last host attends its own block (causal half) and then host 0's block. With the
        // exchange overlapped, host 0's block arrives while the own block is computed (own-block
        // attention ≥ transfer here, checked below); a naive ring adds the transfer to that step:
        // exactly one transfer per layer on the prefill's critical path.
        let plan = try RingPlan(contextLength: 16384, queryLength: 16, hosts: 2)
        let overlapped = try ProjectedExecution.run(
            model: .smolLM2_135M, method: .ring(plan), name: "ring",
            setup: Self.setup(ring: RingStepParameters(attentionEfficiency: 1, overlapsTransfer: true), interLink: "nvlink-a100"),
            generateTokens: 1)
        let naiveSetup = try Self.setup(ring: RingStepParameters(attentionEfficiency: 1, overlapsTransfer: false), interLink: "nvlink-a100")
        let naive = try ProjectedExecution.run(model: .smolLM2_135M, method: .ring(plan), name: "ring", setup: naiveSetup, generateTokens: 1)
        let link = naiveSetup.topology.interHostLink
        let transfer = link.latency + .seconds(Double(8192 * Self.shape.kvBytesPerTokenPerLayer) / link.bandwidthBytesPerSecond)
        let ownStep = naiveSetup.costModel(shape: Self.shape).ringStepCost(queries: 8192, keyTokens: 8192, visiblePairs: 8192 * 8193 / 2)
        #expect(SimDuration.seconds(ownStep.seconds) >= transfer, "precondition of the hand count")
        let o = try #require(overlapped.timeToFirstToken), n = try #require(naive.timeToFirstToken)
        #expect(n - o == transfer * Int64(Self.shape.layers), "naive \(n) − overlapped \(o) should be \(Self.shape.layers) × \(transfer)")
        // Same messages and bytes either way: only host time changes.
        #expect(naive.bytesMoved == overlapped.bytesMoved)
    }

    @Test func overlappedRingHidesTheTransferBehindTheOwnBlock() throws {
        // With a slow link (transfer > own-block attention) the overlapped ring waits max(own, transfer)
        // for the first received block: making the link slower by δ then delays TTFT by at most
        // layers × δ, and by zero when the own block still covers the transfer (fast link).
        let plan = try RingPlan(contextLength: 16384, queryLength: 16, hosts: 2)
        func ttft(_ link: String) throws -> SimDuration {
            try #require(ProjectedExecution.run(model: .smolLM2_135M, method: .ring(plan), name: "ring",
                                                setup: Self.setup(interLink: link), generateTokens: 1).timeToFirstToken)
        }
        let nvlink = try ttft("nvlink-a100"), nvlinkH100 = try ttft("nvlink-h100")
        // Both NVLinks hide the 8192-token K,V transfer: the ring prefill does not see the faster link
        // except in the small phase-2 messages (µs).
        #expect(abs((nvlink - nvlinkH100).seconds) < 1e-4)
    }

    @Test func messageOverheadAddsExactlyCriticalMessagesTimesOverhead() throws {
        // Star on 2 hosts, 1 generated token, gather-broadcast, query host = host 1. Phase 1 sends
        // nothing. Host 0 encodes block 0 alone (b tokens) while host 1 encodes [anchor; block 1]
        // (a + b tokens), so host 0 is ahead: the query tokens and host 0's layer-0 partial arrive
        // before host 1 needs them (off the critical path). From then on the chain alternates:
        // host 1 merges layer l and sends the merged output (1 message), host 0 finishes layer l,
        // computes its layer-(l+1) partial and sends it (1 message), for l = 0 … layers − 2; after
        // the last merge host 1 goes straight to the logits. With per-kernel overhead 0 and a
        // message overhead far above the compute per layer, that is 2·(layers − 1) messages on the
        // critical path: TTFT grows by that many overheads.
        let method = AttentionMethod.star(try StarPlan(contextLength: 4096, queryLength: 16, blockSize: 2048, anchorSize: 2048, hosts: 2))
        func ttft(_ overhead: Double) throws -> SimDuration {
            try #require(ProjectedExecution.run(model: .smolLM2_135M, method: method, name: "star",
                                                setup: Self.setup(messageOverhead: overhead), generateTokens: 1).timeToFirstToken)
        }
        // Without overhead host 1's longer encode (anchor + block) is on the critical path; once the
        // overhead dominates it is hidden behind the first message, so going from 0 to 1 ms adds a
        // little less than 2·(layers − 1) ms, and every further millisecond adds exactly that.
        let base = try ttft(0), o1 = try ttft(1e-3), o2 = try ttft(2e-3)
        let messages = Int64(2 * (Self.shape.layers - 1))
        #expect(o2 - o1 == SimDuration.seconds(1e-3) * messages, "Δ = \(o2 - o1)")
        #expect(o1 - base <= SimDuration.seconds(1e-3) * messages && o1 - base > SimDuration.seconds(1e-3) * (messages - 1),
                "Δ = \(o1 - base)")
        // A single host sends nothing between hosts: the overhead cannot change global attention.
        let global = AttentionMethod.global(try GlobalPlan(contextLength: 4096, queryLength: 16))
        let g0 = try ProjectedExecution.run(model: .smolLM2_135M, method: global, name: "global", setup: Self.setup(), generateTokens: 3)
        let g1 = try ProjectedExecution.run(model: .smolLM2_135M, method: global, name: "global",
                                            setup: Self.setup(messageOverhead: 1e-3), generateTokens: 3)
        #expect(g0.sampleEnds == g1.sampleEnds)
    }
}
