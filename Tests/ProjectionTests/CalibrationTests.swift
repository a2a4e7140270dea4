import DistributedAttention
import Projection
import Testing
import TestSupport

@Suite("Calibration")
struct CalibrationTests {
    static let file = repositoryRoot + "/profiles/calibration/h100-llama8b-layer.json"
    static let h100 = ProfileCatalog.builtInDevices.first { $0.name == "h100-sxm" }!

    @Test("Fit on the H100 file: median |relative error| ≤ 15%; the shipped parameters are this fit")
    func fitH100() throws {
        let result = try Calibration.fit(file: Self.file, device: Self.h100)
        print("Calibration fit on \(Self.file):\n\(result.report)\nparameters: \(result.parameters)\nkernel overhead: \(result.kernelOverheadSeconds) s")
        #expect(result.report.rows.count == 17)
        #expect(result.report.medianAbsoluteRelativeError <= 0.15)
        // The built-in GPU efficiencies are exactly what this procedure produces (not hand-tuned).
        let shipped = EfficiencyParameters.calibratedH100
        for field in EfficiencyParameters.fields {
            #expect(relativeDifference(result.parameters[keyPath: field.path], shipped[keyPath: field.path]) < 1e-4, "\(field.key)")
        }
        #expect(relativeDifference(result.parameters.causalHalfKeys, shipped.causalHalfKeys) < 1e-4)
        #expect(relativeDifference(result.parameters.attentionMemory, shipped.attentionMemory) < 1e-4)
        #expect(relativeDifference(result.kernelOverheadSeconds, ProfileCatalog.calibratedKernelOverhead) < 1e-4)
        #expect(result.device.efficiencySource.kind == .calibrated)
    }

    @Test("The fit is deterministic and recovers parameters from synthetic data")
    func recoversSyntheticParameters() throws {
        let (shape, points, _) = try Calibration.load(file: Self.file)
        var truth = EfficiencyParameters.calibratedH100
        truth.gemmMax = 0.7
        truth.saturatingUnitsFraction = 0.3
        truth.attentionMax = 0.55
        var device = Self.h100
        device.kernelOverheadSeconds = Labelled(4e-6, .assumed("test"))
        device.efficiency = truth
        let model = CostModel(device: device, shape: shape)
        let synthetic = points.map { CalibrationPoint(kind: $0.kind, seconds: Calibration.predict($0, model: model)) }
        let a = Calibration.fit(points: synthetic, shape: shape, device: Self.h100)
        let b = Calibration.fit(points: synthetic, shape: shape, device: device)
        #expect(a.parameters == b.parameters && a.kernelOverheadSeconds == b.kernelOverheadSeconds)
        // Predictions reproduce the synthetic data closely (parameters may trade off where data is silent).
        #expect(a.report.maxAbsoluteRelativeError < 0.02, "\(a.report)")
        #expect(relativeDifference(a.parameters.gemmMax, 0.7) < 0.05)
    }

    @Test("Bad calibration files are reported with the item")
    func badFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let header = #""dtype": "bf16", "model": {"hidden": 64, "heads": 4, "kv_heads": 2, "head_dim": 16, "ffn": 128, "layers": 2}"#
        let missing = try dir.write("m.json", "{\(header), \"items\": [{\"kind\": \"layer_linear\", \"seconds\": 0.1}]}")
        expectProjectionError(["m.json", "item 0", "tokens"]) { _ = try Calibration.load(file: missing) }
        let negative = try dir.write("n.json", "{\(header), \"items\": [{\"kind\": \"copy_bw\", \"bytes\": 10, \"seconds\": -1}]}")
        expectProjectionError(["n.json", "item 0", "seconds"]) { _ = try Calibration.load(file: negative) }
        let unknownOnly = try dir.write("u.json", "{\(header), \"items\": [{\"kind\": \"allreduce\", \"seconds\": 1}]}")
        expectProjectionError(["u.json", "no usable items"]) { _ = try Calibration.load(file: unknownOnly) }
        let mixed = try dir.write("x.json", "{\(header), \"items\": [{\"kind\": \"allreduce\", \"seconds\": 1}, {\"kind\": \"copy_bw\", \"bytes\": 10, \"seconds\": 1}]}")
        #expect(try Calibration.load(file: mixed).ignored == ["allreduce"])
        let wide = try dir.write("c.json", "{\(header), \"items\": [{\"kind\": \"attn_causal\", \"q_tokens\": 9, \"kv_tokens\": 8, \"seconds\": 1}]}")
        expectProjectionError(["c.json", "item 0", "q_tokens <= kv_tokens"]) { _ = try Calibration.load(file: wide) }
    }

    @Test("attn_causal with fewer queries than keys is a chunk over a cache: the last queries see all earlier keys")
    func causalChunkOverCache() throws {
        let model = CostModel(device: Self.h100, shape: .llama31_8B)
        func predict(_ kind: CalibrationPoint.Kind) -> Double { Calibration.predict(CalibrationPoint(kind: kind, seconds: 1), model: model) }
        // 256 new tokens over 128K keys: almost every pair visible, so within 2% of the full block
        // (the causal curve at k̄ ≈ 131K costs ~1%); the square stays the square.
        let chunk = predict(.attentionCausal(queries: 256, keys: 131072))
        let full = predict(.attentionFull(queries: 256, keys: 131072))
        #expect(abs(chunk / full - 1) < 0.02, "\(chunk) vs \(full)")
        #expect(predict(.attentionCausal(queries: 4096, keys: 4096))
                == model.attention(queries: 4096, keyTokens: 4096, visiblePairs: 4096 * 4097 / 2).seconds)
    }
}
