import ClusterSpec
import DistributedAttention
import Projection
import Testing

@Suite("Memory model")
struct MemoryModelTests {
    static let a100 = ProfileCatalog.builtInDevices.first { $0.name == "a100-80gb" }!.profile
    static let h100 = ProfileCatalog.builtInDevices.first { $0.name == "h100-sxm" }!.profile

    @Test("Llama-3.1-8B: bf16 weights ≈ 16 GB, KV per token per layer = 2·8·128·2 bytes")
    func basics() {
        let m = ModelSpec.llama31_8B
        #expect(m.shape.kvBytesPerTokenPerLayer == 2 * 8 * 128 * 2)
        #expect(m.kvBytesPerToken == 32 * 4096)
        #expect(abs(Double(m.weightBytes) - 16.06e9) < 0.05e9)
        let mm = MemoryModel(model: m, device: Self.h100)
        #expect(mm.kvBytes(tokens: 131_072) == 131_072 * 131_072)  // 17.2 GB at 128K
    }

    @Test("Llama-3.1-70B at 128K on one 80 GB GPU does not fit, and the report says by how much")
    func seventyBOnOneGPU() throws {
        let mm = MemoryModel(model: .llama31_70B, device: Self.h100, gpusPerHost: 1)
        let report = mm.report(.global(try GlobalPlan(contextLength: 131_072, queryLength: 64)))
        #expect(!report.fits)
        #expect(report.outOfMemory.count == 1)
        let host = report.hosts[0]
        #expect(host.peakBytes > 141_000_000_000)  // weights alone ≈ 141 GB
        #expect(report.description.contains("OUT OF MEMORY"))
    }

    @Test("Star phase 1 holds the anchor KV; the query host appends; ring lastHost keeps everything")
    func methods() throws {
        let m = ModelSpec.llama31_8B
        let mm = MemoryModel(model: m, device: Self.a100, gpusPerHost: 2, options: MemoryOptions(generatedTokens: 100))
        let star = try StarPlan(contextLength: 131_072, queryLength: 64, blockSize: 32_768, anchorSize: 32_768, hosts: 4)
        let r = mm.report(.star(star))
        #expect(r.hosts[0].contextPeak.anchorKV == 0)  // block 0 has no anchor
        #expect(r.hosts[1].contextPeak.anchorKV == mm.kvBytes(tokens: 32_768))
        #expect(r.hosts[3].decodePeak.kvCache == mm.kvBytes(tokens: 32_768 + 64 + 100))
        #expect(r.hosts[2].decodePeak.kvCache == mm.kvBytes(tokens: 32_768))
        #expect(r.fits)
        let ringPlan = try RingPlan(contextLength: 131_072, queryLength: 64, hosts: 4, decode: .lastHost)
        let ring = mm.report(.ring(ringPlan))
        #expect(ring.hosts[3].contextPeak.kvCache == mm.kvBytes(tokens: 131_072))
        #expect(ring.hosts[0].contextPeak.kvCache == mm.kvBytes(tokens: 32_768))
        #expect(ring.hosts[0].contextPeak.communication == 2 * 32_768 * Int64(m.shape.kvBytesPerTokenPerLayer))
        // Pipeline over 2 GPUs: the busiest GPU holds about half the weights and KV.
        let h = r.hosts[1]
        #expect(h.busiestGPUBytes < h.peakBytes && h.busiestGPUBytes > h.peakBytes / 3)
    }

    @Test("Paper check: vanilla 8B on one 2×A100 host fits at 64K, not at 128K, with HF full-sequence logits")
    func vanillaOOM() throws {
        let options = MemoryOptions(fullSequenceLogits: true)
        let mm = MemoryModel(model: .llama31_8B, device: Self.a100, gpusPerHost: 2, options: options)
        let at64 = mm.report(.global(try GlobalPlan(contextLength: 65_536, queryLength: 64)))
        let at128 = mm.report(.global(try GlobalPlan(contextLength: 131_072, queryLength: 64)))
        print("vanilla 64K:\n\(at64)\nvanilla 128K:\n\(at128)")
        #expect(at64.fits)
        #expect(!at128.fits)
        // Without the full logits (only the last row, as the host programs do) 128K fits.
        let lean = MemoryModel(model: .llama31_8B, device: Self.a100, gpusPerHost: 2)
        #expect(lean.report(.global(try GlobalPlan(contextLength: 131_072, queryLength: 64))).fits)
    }

    @Test("Tensor parallel splits weights and KV across the GPUs")
    func tensorParallel() throws {
        let plan = try GlobalPlan(contextLength: 32_768, queryLength: 64)
        let tp = MemoryModel(model: .llama31_70B, device: Self.h100, gpusPerHost: 4, combine: .tensorParallel).report(.global(plan))
        let host = tp.hosts[0]
        #expect(host.busiestGPUBytes > host.peakBytes / 4 && host.busiestGPUBytes < host.peakBytes / 3)
        #expect(host.fits)
    }
}
