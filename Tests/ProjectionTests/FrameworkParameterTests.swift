import ClusterSpec
import DistributedAttention
import Foundation
import Projection
import Testing
import TestSupport

/// The framework parameters of a profile: ring-step efficiency and overlap (device), per-message
/// overhead (link). Their effect on time through the whole engine is tested in StarSimTests
/// (`FrameworkOverheadRunTests`).
@Suite("Framework parameters")
struct FrameworkParameterTests {
    static let a100 = ProfileCatalog.builtInDevices.first { $0.name == "a100-80gb" }!

    /// A100 profile with no per-kernel overhead, so times are exactly `FLOPs / (peak · efficiency)`.
    static func model(ring: RingStepParameters) -> CostModel {
        var d = a100
        d.kernelOverheadSeconds = Labelled(0, .assumed("test"))
        return CostModel(device: d.profile, efficiency: d.efficiency, shape: .llama31_8B, ringSteps: ring)
    }

    @Test("Built-in profiles keep ideal ring steps and no message overhead, so existing projections are unchanged")
    func defaultsAreNeutral() throws {
        for d in ProfileCatalog.builtInDevices {
            #expect(d.ringSteps == .ideal, "\(d.name)")
            #expect(d.ringAttentionEfficiency.source.kind == .assumed && d.ringOverlapsTransfer.source.kind == .published)
        }
        for l in ProfileCatalog.builtInLinks {
            #expect(l.messageOverheadSeconds.value == 0 && l.profile.latency == .seconds(l.latencySeconds.value), "\(l.name)")
        }
        let ideal = Self.model(ring: .ideal)
        for (q, k, pairs) in [(32768, 32768, 32768 * 32768 / 2), (1, 65536, 65536), (4096, 8192, 4096 * 8192)] {
            #expect(ideal.ringStepCost(queries: q, keyTokens: k, visiblePairs: pairs) == ideal.attention(queries: q, keyTokens: k, visiblePairs: pairs))
        }
    }

    @Test("Ring-step efficiency r scales only the compute term of a ring step: max(compute / r, memory)")
    func ringEfficiencyScalesComputeBoundAttention() {
        let ideal = Self.model(ring: .ideal)
        let half = Self.model(ring: RingStepParameters(attentionEfficiency: 0.4, overlapsTransfer: true))
        // 32K queries on a full 32K block: compute-bound by far.
        let full = ideal.attention(queries: 32768, keyTokens: 32768, visiblePairs: 32768 * 32768)
        let ring = half.ringStepCost(queries: 32768, keyTokens: 32768, visiblePairs: 32768 * 32768)
        #expect(full.bound == .compute && ring.bound == .compute)
        #expect(ring.flops == full.flops && ring.bytes == full.bytes)
        #expect(relativeDifference(ring.seconds, full.seconds / 0.4) < 1e-12)
        // Hand check of the ideal step: 4 · heads · headDim · pairs FLOPs at attentionMax of 312 TFLOP/s
        // (8192 tiles of 128 query rows over 108 SMs: the total, not the longest tile, bounds it).
        let e = Self.a100.efficiency
        #expect(relativeDifference(full.seconds, 4 * 32 * 128 * 32768.0 * 32768 / (312e12 * e.attentionMax)) < 1e-12)
        // In general a ring step costs max(compute / r, memory): a few queries over a long block is
        // memory-bound at r = 1 and only its compute term is scaled. Compute by hand from the tile model
        // (Llama-3.1-8B: 32 query heads, 8 KV heads, head dim 128; A100: 108 SMs):
        // q = 1: the 4 query heads of a group fold into one 64-row tile per KV head (8 tiles), keys
        //        split 108 / 8 = 13 ways; q = 16: 32 tiles of 128 rows, one wave, the longest tile
        //        bounds it; q = 2048 over 4096: 512 tiles, the total bounds it.
        let rate = 312e12 * e.attentionMax
        let tileFlops = { (rows: Double, keys: Double) in 4 * rows * 128 * keys }
        let computeByHand: [Int: Double] = [
            1: max(8 * tileFlops(64, 65536) / rate, tileFlops(64, 65536 / 13) / (rate / 108)),
            16: max(32 * tileFlops(128, 65536) / rate, tileFlops(128, 65536) / (rate / 108)),
            2048: max(512 * tileFlops(128, 4096) / rate, tileFlops(128, 4096) / (rate / 108)),
        ]
        for (q, k) in [(1, 65536), (16, 65536), (2048, 4096)] {
            let ideal1 = ideal.attention(queries: q, keyTokens: k, visiblePairs: q * k)
            let stepR = half.ringStepCost(queries: q, keyTokens: k, visiblePairs: q * k)
            let compute = computeByHand[q]!
            let memory = ideal1.bytes / (2.039e12 * e.attentionMemory)
            #expect(relativeDifference(ideal1.seconds, max(compute, memory)) < 1e-12, "q \(q), k \(k)")
            #expect(relativeDifference(stepR.seconds, max(compute / 0.4, memory)) < 1e-12, "q \(q), k \(k)")
        }
        // The regular attention op is never affected (only ring steps are).
        #expect(half.attention(queries: 32768, keyTokens: 32768, visiblePairs: 32768 * 32768) == full)
    }

    @Test("A link's message overhead adds to the latency the engine charges per message")
    func messageOverheadIsChargedAsLatency() {
        var link = ProfileCatalog.builtInLinks.first { $0.name == "ib-hdr" }!
        link.messageOverheadSeconds = Labelled(250e-6, .fitted("test"))
        #expect(link.profile.latency == .seconds(5e-6 + 250e-6))
        #expect(link.profile.bandwidthBytesPerSecond == 25e9)
    }

    @Test("New fields read back from YAML with their sources; published and fitted are valid sources")
    func yamlRoundTrip() throws {
        var d = Self.a100
        d.name = "a100-test"
        d.ringAttentionEfficiency = Labelled(0.3125, .fitted("fit note"))
        d.ringOverlapsTransfer = Labelled(false, .assumed("naive"))
        let back = try ProfileCatalog.parseDevice(yaml: d.yaml, file: "d.yaml")
        #expect(back == d && back.ringSteps == RingStepParameters(attentionEfficiency: 0.3125, overlapsTransfer: false))
        d.framework = Labelled(.hfReference, .published("reference code"))
        #expect(try ProfileCatalog.parseDevice(yaml: d.yaml, file: "d.yaml") == d)
        var l = ProfileCatalog.builtInLinks[0]
        l.messageOverheadSeconds = Labelled(1.5e-4, .published("paper"))
        #expect(try ProfileCatalog.parseLink(yaml: l.yaml, file: "l.yaml") == l)
    }

    @Test("Missing, negative, out-of-range and non-boolean values name the file and the field")
    func yamlValidation() throws {
        let good = ProfileTests.good
        func without(_ key: String) -> String { good.split(separator: "\n").filter { !$0.hasPrefix(key) }.joined(separator: "\n") }
        expectProjectionError(["gpu.yaml", "ring_attention_efficiency", "missing"]) {
            _ = try ProfileCatalog.parseDevice(yaml: without("ring_attention_efficiency"), file: "gpu.yaml")
        }
        expectProjectionError(["gpu.yaml", "ring_overlaps_transfer", "missing"]) {
            _ = try ProfileCatalog.parseDevice(yaml: without("ring_overlaps_transfer"), file: "gpu.yaml")
        }
        expectProjectionError(["gpu.yaml", "ring_attention_efficiency.value", "out of range"]) {
            _ = try ProfileCatalog.parseDevice(yaml: good.replacingOccurrences(of: "value: 0.5, source: fitted", with: "value: -0.5, source: fitted"), file: "gpu.yaml")
        }
        expectProjectionError(["gpu.yaml", "ring_attention_efficiency.value", "out of range"]) {
            _ = try ProfileCatalog.parseDevice(yaml: good.replacingOccurrences(of: "value: 0.5, source: fitted", with: "value: 1.5, source: fitted"), file: "gpu.yaml")
        }
        expectProjectionError(["gpu.yaml", "ring_overlaps_transfer.value", "true or false"]) {
            _ = try ProfileCatalog.parseDevice(yaml: good.replacingOccurrences(of: "value: false", with: "value: sometimes"), file: "gpu.yaml")
        }
        expectProjectionError(["gpu.yaml", "ring_overlaps_transfer", "source"]) {
            _ = try ProfileCatalog.parseDevice(yaml: good.replacingOccurrences(of: "{value: false, source: published, note: o}", with: "{value: false}"), file: "gpu.yaml")
        }
        // `framework` is optional (fused when absent); a value outside the two names the choices.
        #expect(try ProfileCatalog.parseDevice(yaml: good, file: "gpu.yaml").framework.value == .fused)
        let hf = good + "\nframework: {value: hf-reference, source: published, note: reference code}"
        #expect(try ProfileCatalog.parseDevice(yaml: hf, file: "gpu.yaml").framework.value == .hfReference)
        expectProjectionError(["gpu.yaml", "framework.value", "fused", "hf-reference"]) {
            _ = try ProfileCatalog.parseDevice(yaml: hf.replacingOccurrences(of: "value: hf-reference", with: "value: vllm"), file: "gpu.yaml")
        }
        expectProjectionError(["gpu.yaml", "framework", "mapping"]) {
            _ = try ProfileCatalog.parseDevice(yaml: good + "\nframework: hf-reference", file: "gpu.yaml")
        }
        let link = """
            name: l
            bandwidth_bytes_per_second: {value: 1e9, source: spec}
            latency_seconds: {value: 1e-6, source: assumed}
            message_overhead_seconds: {value: 2e-4, source: fitted, note: paper}
            """
        #expect(try ProfileCatalog.parseLink(yaml: link, file: "link.yaml").messageOverheadSeconds.value == 2e-4)
        expectProjectionError(["link.yaml", "message_overhead_seconds", "missing"]) {
            _ = try ProfileCatalog.parseLink(yaml: link.split(separator: "\n").dropLast().joined(separator: "\n"), file: "link.yaml")
        }
        expectProjectionError(["link.yaml", "message_overhead_seconds.value", "out of range"]) {
            _ = try ProfileCatalog.parseLink(yaml: link.replacingOccurrences(of: "value: 2e-4", with: "value: -2e-4"), file: "link.yaml")
        }
    }

    @Test("The paper profiles carry their framework parameters with fitted/published sources")
    func paperProfiles() throws {
        let dir = repositoryRoot + "/scenarios/paper/profiles"
        let catalog = ProfileCatalog(userDirectory: dir)
        let d = try catalog.device(named: "a100-80gb-hf")
        #expect(d.ringAttentionEfficiency.source.kind == .fitted && d.ringAttentionEfficiency.value < 1)
        #expect(d.ringOverlapsTransfer.value && d.ringOverlapsTransfer.source.kind == .published)
        #expect(d.framework.value == .hfReference && d.framework.source.kind == .published)
        let nv = try catalog.link(named: "nvlink-a100-torch"), ib = try catalog.link(named: "ib-hdr-torch")
        #expect(nv.messageOverheadSeconds.source.kind == .fitted && nv.messageOverheadSeconds.value > 0)
        // One framework overhead for both links; the wires keep their built-in spec values.
        #expect(ib.messageOverheadSeconds == nv.messageOverheadSeconds)
        #expect(nv.bandwidthBytesPerSecond == (try catalog.link(named: "nvlink-a100")).bandwidthBytesPerSecond)
        #expect(ib.bandwidthBytesPerSecond == (try catalog.link(named: "ib-hdr")).bandwidthBytesPerSecond)
    }

    /// The reference code's mechanisms (``Framework/hfReference``) against closed forms written out
    /// here: Llama-3.1-8B, bf16 (e = 2), 32 heads × 128, 8 KV heads, vocab 128,256, one GPU.
    @Test("hf-reference charges fp32 per-partial merges, all-row logits and the cache concatenation; fused charges none")
    func hfReferenceMechanisms() throws {
        var d = Self.a100
        d.kernelOverheadSeconds = Labelled(0, .assumed("test"))
        let fused = CostModel(device: d.profile, efficiency: d.efficiency, shape: .llama31_8B)
        let hf = CostModel(device: d.profile, efficiency: d.efficiency, shape: .llama31_8B, framework: .hfReference)
        let shape = ModelShape.llama31_8B
        func seg(_ role: Segment.Role, _ n: Int, kv: KVRef = .block(0)) -> Segment {
            Segment(role: role, runs: [TokenRun(tokens: 0..<n, firstPosition: 0, kv: kv)])
        }
        let n = 1024, parts = 4
        let elements = Double(n * 32 * 128), lseRows = Double(n * 32)
        // Ring merge (context phase): two casts (e + 4 each) and parts − 1 fused updates (8 + e, lse 12).
        let ringMerge = hf.cost(of: .merge(layer: 0, seg(.shard(host: 0), n), parts: parts))
        let ringBytes: Double = 2 * elements * 6 + 3 * (elements * 10 + lseRows * 12)
        #expect(ringMerge.bytes == ringBytes)
        #expect(ringMerge.kernels == 2 + 2 * 3)
        #expect(fused.cost(of: .merge(layer: 0, seg(.shard(host: 0), n), parts: parts)).kernels == parts - 1)
        // Phase 2 also zeroes the all-gather's receive buffers: parts × (output e + lse 4), 2 kernels each.
        let gathered = hf.cost(of: .merge(layer: 0, seg(.generated(0), 1, kv: .appended), parts: parts))
        let casts: Double = 2 * 4096 * 6, updates: Double = 3 * (4096 * 10 + 32 * 12), zeros: Double = 4 * (4096 * 2 + 32 * 4)
        #expect(gathered.bytes == casts + updates + zeros)
        #expect(gathered.kernels == 8 + 8)
        // All-row logits at the last layer: every row of a context segment, all but one of the query,
        // none of a generated token; nothing at other layers or with fused.
        let last = shape.layers - 1
        func extraFLOPs(_ s: Segment, layer: Int) -> Double {
            hf.cost(of: .finishLayer(layer: layer, s)).flops - fused.cost(of: .finishLayer(layer: layer, s)).flops
        }
        let head = 2 * Double(shape.hidden) * Double(shape.vocab)
        #expect(extraFLOPs(seg(.block(1), n), layer: last) == head * Double(n))
        #expect(extraFLOPs(seg(.query, 64, kv: .appended), layer: last) == head * 63)
        #expect(extraFLOPs(seg(.generated(3), 1, kv: .appended), layer: last) == 0)
        #expect(extraFLOPs(seg(.block(1), n), layer: last - 1) == 0)
        let logitsCast = hf.allRowLogitsCost(rows: n).primitives.first { $0.name == "logits.float()" }
        #expect(logitsCast?.bytes == Double(n) * Double(shape.vocab) * 6)
        // Cache concatenation: the host whose own store is among the keys copies all of them (read +
        // write, K and V); a host attending only its context block appends nothing.
        let keyTokens = 32768 + 65
        let appending = hf.cost(of: .attend(layer: 0, queries: seg(.generated(0), 1, kv: .appended), keys: [.block(3), .appended],
                                           visiblePairs: keyTokens, keyTokens: keyTokens))
        let plain = fused.cost(of: .attend(layer: 0, queries: seg(.generated(0), 1, kv: .appended), keys: [.block(3), .appended],
                                          visiblePairs: keyTokens, keyTokens: keyTokens))
        #expect(appending.bytes - plain.bytes == 2 * Double(keyTokens) * Double(shape.kvBytesPerTokenPerLayer))
        let remote = hf.cost(of: .attend(layer: 0, queries: seg(.generated(0), 1, kv: .appended), keys: [.block(1)],
                                        visiblePairs: 32768, keyTokens: 32768))
        #expect(remote.primitives.count == 1)
        // A prefill attend (context phase) never pays the concatenation.
        let prefill = hf.cost(of: .attend(layer: 0, queries: seg(.block(0), n), keys: [.block(0)],
                                         visiblePairs: n * (n + 1) / 2, keyTokens: n))
        #expect(prefill.primitives.count == 1)
    }
}
