import ClusterSpec
import DistributedAttention
import Projection
import Testing

/// A context segment of `n` tokens starting at `start`.
func segment(_ n: Int, start: Int = 0, role: Segment.Role = .block(0)) -> Segment {
    Segment(role: role, runs: [TokenRun(tokens: start..<(start + n), firstPosition: Int32(start), kv: .block(0))])
}

@Suite("Cost model")
struct CostModelTests {
    static let h100 = ProfileCatalog.builtInDevices.first { $0.name == "h100-sxm" }!
    static let model = CostModel(device: h100, shape: .llama31_8B)

    @Test("More tokens never take less time, for every op kind")
    func monotonic() {
        let m = Self.model
        var previous: [Double] = []
        for n in [1, 2, 8, 64, 256, 1024, 4096, 16_384, 65_536] {
            let s = segment(n)
            let pairs = VisiblePairs.count(queries: 0..<Int32(n), keys: 0..<Int32(n))
            let ops: [Op] = [
                .embed(s), .layerInputs(layer: 0, s, storesKV: true), .layerInputs(layer: 0, s, storesKV: false),
                .attend(layer: 0, queries: s, keys: [.block(0)], visiblePairs: pairs, keyTokens: n),
                .attend(layer: 0, queries: s, keys: [.block(0)], visiblePairs: n * 32_768, keyTokens: 32_768),
                .merge(layer: 0, s, parts: 4), .finishLayer(layer: 0, s),
                .encode(s, keys: [.block(0)], dropAnchor: nil, visiblePairsPerLayer: pairs, keyTokensPerLayer: n),
            ]
            let times = ops.map { m.cost(of: $0).seconds }
            for t in times { #expect(t > 0 && t.isFinite) }
            if !previous.isEmpty {
                for (i, (a, b)) in zip(previous, times).enumerated() { #expect(b >= a, "op \(ops[i]) got faster at \(n) tokens") }
            }
            previous = times
        }
        // Longer KV, same queries → more time.
        let q = segment(64, start: 100_000, role: .query)
        let short = m.cost(of: .attend(layer: 0, queries: q, keys: [.block(0)], visiblePairs: 64 * 8192, keyTokens: 8192)).seconds
        let long = m.cost(of: .attend(layer: 0, queries: q, keys: [.block(0)], visiblePairs: 64 * 65_536, keyTokens: 65_536)).seconds
        #expect(long > short)
    }

    @Test("Decode is memory-bound: one token's finishLayer ≈ its weight bytes / bandwidth (within 1×–2×)")
    func decodeMemoryBound() {
        let s = ModelShape.llama31_8B
        let weights = Double(s.heads * s.headDim * s.hidden + 3 * s.hidden * s.ffn) * 2  // o-proj + MLP, bf16
        let floor = weights / Self.h100.memoryBandwidthBytesPerSecond.value
        let t = Self.model.cost(of: .finishLayer(layer: 0, segment(1, start: 5000, role: .generated(0))))
        #expect(t.seconds >= floor && t.seconds <= 2 * floor, "finishLayer(1) = \(t.seconds) s vs weights/bandwidth \(floor) s")
        // Attention of 1 query to 128K keys: about the time to read K,V once (within 1×–2×).
        let a = Self.model.attention(queries: 1, keyTokens: 131_072, visiblePairs: 131_072)
        let kvFloor = Double(131_072 * s.kvBytesPerTokenPerLayer) / Self.h100.memoryBandwidthBytesPerSecond.value
        #expect(a.seconds >= kvFloor && a.seconds <= 2 * kvFloor, "decode attention \(a)")
        // Prefill GEMMs are compute-bound.
        let prefill = Self.model.cost(of: .finishLayer(layer: 0, segment(8192)))
        #expect(prefill.primitives.first { $0.name == "gate_up" }!.bound == .compute)
    }

    @Test("Every op kind has a duration; encode = embed + layers × (inputs + attend + finish)")
    func encodeIsSumOfLayers() {
        let m = Self.model
        let n = 2048
        let s = segment(n)
        let pairs = VisiblePairs.count(queries: 0..<Int32(n), keys: 0..<Int32(n))
        let parts = m.cost(of: .embed(s)).seconds
            + 32 * (m.cost(of: .layerInputs(layer: 0, s, storesKV: true)).seconds
                + m.cost(of: .attend(layer: 0, queries: s, keys: [.block(0)], visiblePairs: pairs, keyTokens: n)).seconds
                + m.cost(of: .finishLayer(layer: 0, s)).seconds)
        let encode = m.cost(of: .encode(s, keys: [.block(0)], dropAnchor: nil, visiblePairsPerLayer: pairs, keyTokensPerLayer: n))
        #expect(relativeDifference(encode.seconds, parts) < 1e-9)
        #expect(m.duration(of: .logits(s)) > .zero && m.duration(of: .sample) > .zero)
        #expect(m.duration(of: .merge(layer: 0, s, parts: 1)) == .zero)
        #expect(m.duration(of: .encode(s, keys: [.block(0)], dropAnchor: nil, visiblePairsPerLayer: pairs, keyTokensPerLayer: n))
            == .seconds(encode.seconds))
        // Attention FLOPs are 4·heads·headDim per visible pair.
        #expect(m.attention(queries: n, keyTokens: n, visiblePairs: pairs).flops == Double(4 * 32 * 128 * pairs))
    }

    @Test("Pipeline: one GPU's time, hand-offs at slice boundaries; tensor parallel: faster GEMMs, 2 all-reduces per layer")
    func combine() {
        let pipe = CostModel(device: Self.h100, gpusPerHost: 2, combine: .pipeline, shape: .llama31_8B)
        let tp = CostModel(device: Self.h100, gpusPerHost: 2, combine: .tensorParallel, shape: .llama31_8B)
        let s = segment(4096)
        let op = Op.finishLayer(layer: 15, s)
        #expect(pipe.cost(of: op).seconds == Self.model.cost(of: op).seconds)
        let single = Self.model.cost(of: op).seconds, split = tp.cost(of: op).seconds
        #expect(split < single && split > single / 2, "TP over 2 GPUs: \(split) s vs \(single) s")
        let slices: [Range<Int>] = [pipe.layers(onGPU: 0), pipe.layers(onGPU: 1)]
        #expect(slices == [0..<16, 16..<32])
        let bytes = 4096 * 4096 * 2
        #expect(pipe.intraHostTransfers(of: op) == [IntraHostTransfer(kind: .pipelineHandoff, bytes: bytes, count: 1)])
        #expect(pipe.intraHostTransfers(of: .finishLayer(layer: 14, s)).isEmpty)
        #expect(pipe.intraHostTransfers(of: .finishLayer(layer: 31, s)).isEmpty)
        let handoffs = pipe.pipelineHandoffs(tokens: 4096)
        #expect(handoffs.count == 1 && handoffs.bytesEach == bytes)
        #expect(tp.intraHostTransfers(of: op) == [IntraHostTransfer(kind: .allReduce, bytes: bytes, count: 2)])
        let reduces = tp.tensorParallelAllReduces(tokens: 4096)
        #expect(reduces.count == 2 && reduces.bytesEach == bytes)
        #expect(Self.model.intraHostTransfers(of: op).isEmpty)
        let three = CostModel(device: Self.h100, gpusPerHost: 3, combine: .pipeline, shape: .llama31_8B)
        #expect((0..<3).map { three.layers(onGPU: $0).count } == [11, 11, 10])
    }

    @Test("A100 is slower than H100 for prefill, H200 faster than H100 for decode")
    func devicesOrder() throws {
        let catalog = ProfileCatalog()
        func t(_ device: String, _ n: Int) throws -> Double {
            CostModel(device: try catalog.device(named: device), shape: .llama31_8B).cost(of: .finishLayer(layer: 0, segment(n))).seconds
        }
        #expect(try t("a100-80gb", 8192) > 2 * t("h100-sxm", 8192))
        #expect(try t("h200", 1) < t("h100-sxm", 1))
    }
}
