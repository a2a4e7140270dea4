import Cluster
import DistributedAttention
import Projection
import StarSim
import Testing

/// Projections go through the same programs and scheduler as real runs.
@Suite struct ProjectionRunTests {
    static func setup(hosts: Int, gpus: Int) throws -> ClusterSetup {
        try ClusterSetup.named(hosts: hosts, gpusPerHost: gpus, device: "a100-80gb", intraHostLink: "nvlink-a100",
                               interHostLink: "ib-hdr", shape: .fullyConnected)
    }

    @Test func starBeatsRingAt128KOnLlama8B() throws {
        let L = 128 * 1024, q = 64
        let star = try ProjectedExecution.run(
            model: .llama31_8B,
            method: .star(StarPlan(contextLength: L, queryLength: q, blockSize: L / 4, anchorSize: L / 4, hosts: 4)),
            name: "star", setup: Self.setup(hosts: 4, gpus: 2), generateTokens: 8)
        let ring = try ProjectedExecution.run(
            model: .llama31_8B, method: .ring(RingPlan(contextLength: L, queryLength: q, hosts: 4)),
            name: "ring", setup: Self.setup(hosts: 4, gpus: 2), generateTokens: 8)
        let s = try #require(star.timeToFirstToken), r = try #require(ring.timeToFirstToken)
        #expect(s < r, "star TTFT \(s) should beat ring \(r) at 128K")
        #expect(star.sampleEnds.count == 8 && ring.sampleEnds.count == 8)
        // Ring moves K,V of every block around the ring; Star only partials: orders of magnitude apart.
        #expect(ring.bytesMoved > 100 * star.bytesMoved)
    }

    @Test func projectionIsDeterministic() throws {
        let method = AttentionMethod.star(try StarPlan(contextLength: 32768, queryLength: 32, blockSize: 8192, anchorSize: 8192, hosts: 4))
        let a = try ProjectedExecution.run(model: .llama31_8B, method: method, name: "star", setup: Self.setup(hosts: 4, gpus: 1), generateTokens: 4)
        let b = try ProjectedExecution.run(model: .llama31_8B, method: method, name: "star", setup: Self.setup(hosts: 4, gpus: 1), generateTokens: 4)
        #expect(TraceWriter.chromeTraceJSON(a.report.log) == TraceWriter.chromeTraceJSON(b.report.log))
    }

    @Test func seventyBAt128KOnOneGPUIsOutOfMemory() throws {
        let method = AttentionMethod.global(try GlobalPlan(contextLength: 131072, queryLength: 32))
        #expect(throws: ClusterError.self) {
            try ProjectedExecution.run(model: .llama31_70B, method: method, name: "global",
                                       setup: Self.setup(hosts: 1, gpus: 1), generateTokens: 1)
        }
    }
}
