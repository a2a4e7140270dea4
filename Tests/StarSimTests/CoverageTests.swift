import Foundation
import Projection
import Testing
import TestSupport
@testable import StarSim
@testable import StarSimCLI

/// Coverage: whether a projection stays inside the shapes its device was calibrated on
/// (`Docs/Accuracy.md`, section 3), and `project --calibrated-only`.
@Suite struct CoverageTests {
    static let shipped = repositoryRoot + "/profiles/calibration/h100-llama8b-layer.json"

    @Test func theBuiltInH100RangeIsTheShippedFilesRange() throws {
        let (shape, points, _) = try Calibration.load(file: Self.shipped)
        let range = try #require(CalibratedRange(points: points, shape: shape, source: "profiles/calibration/h100-llama8b-layer.json"))
        #expect(range == ProfileCatalog.calibratedH100Range)
        #expect(try ProfileCatalog().device(named: "h100-sxm").calibratedRange == range)
        #expect(try ProfileCatalog().device(named: "a100-80gb").calibratedRange == nil)
    }

    @Test func aProfileCarriesItsRangeThroughYAMLAndBadRangesAreNamed() throws {
        let h100 = try ProfileCatalog().device(named: "h100-sxm")
        let again = try ProfileCatalog.parseDevice(yaml: h100.yaml, file: "h.yaml")
        #expect(again.calibratedRange == h100.calibratedRange)
        #expect(again.yaml == h100.yaml)
        for (bad, words) in [("linear_tokens: [1, 32768]", "missing"), ("linear_tokens: [9, 2]\n  attention_keys: [1, 2]\n  hidden: [1, 2]", "above"),
                             ("linear_tokens: [1, 2, 3]\n  attention_keys: [1, 2]\n  hidden: [1, 2]", "[lowest, highest]")] {
            let text = h100.yaml.replacingOccurrences(
                of: #"calibrated_range:[\s\S]*$"#, with: "calibrated_range:\n  source: x\n  \(bad)\n", options: .regularExpression)
            do {
                _ = try ProfileCatalog.parseDevice(yaml: text, file: "h.yaml")
                Issue.record("accepted \(bad)")
            } catch {
                #expect("\(error)".contains("calibrated_range"), "\(error)")
                #expect("\(error)".contains(words), "\(error)")
            }
        }
    }

    static func project(_ model: ModelSpec, context: Int, method: MethodKind, device: String, generate: Int = 1,
                        gpus: Int = 1) -> ProjectionResult {
        CapacityProjection.project(ProjectionConfig(model: model, method: method, contextLength: context, hosts: 4, gpusPerHost: gpus,
                                                    device: device, intraHostLink: "nvlink-h100", interHostLink: "ib-ndr",
                                                    generateTokens: generate))
    }

    @Test func projectionsSayWhereTheyLeaveTheCalibration() throws {
        // 8B at 16K on H100s: every shape inside the file's (layers to 32K tokens, attention to 64K keys).
        let inside = try #require(Self.project(.llama31_8B, context: 16 * 1024, method: .star, device: "h100-sxm").coverage)
        #expect(inside.status == .calibrated && inside.notes.isEmpty)
        // 128K global: a 128K-token layer and attention over 128K keys were never measured.
        let long = try #require(Self.project(.llama31_8B, context: 128 * 1024, method: .global, device: "h100-sxm").coverage)
        #expect(long.status == .extrapolated)
        #expect(long.notes.contains { $0.hasPrefix("attention over keys") && $0.contains("calibrated 2K–64K") })
        #expect(long.notes.contains { $0.hasPrefix("linear work over tokens") })
        // Decode over 16K keys: one-query attention was measured at 32K keys only.
        let decode = try #require(Self.project(.llama31_8B, context: 16 * 1024, method: .star, device: "h100-sxm", generate: 3).coverage)
        #expect(decode.notes.contains { $0.hasPrefix("decode over keys") })
        // 70B: GEMMs twice as wide as any measured.
        let wide = try #require(Self.project(.llama31_70B, context: 16 * 1024, method: .star, device: "h100-sxm", gpus: 4).coverage)
        #expect(wide.notes.contains { $0.hasPrefix("hidden size 8192 (calibrated 4096)") })
        // A100: the efficiencies come from the H100.
        let a100 = try #require(Self.project(.llama31_8B, context: 16 * 1024, method: .star, device: "a100-80gb").coverage)
        #expect(a100.status == .uncalibrated && a100.notes.first?.contains("a100-80gb has no calibrated range") == true)
        // Tables carry it.
        let table = CapacityTable(results: [Self.project(.llama31_8B, context: 128 * 1024, method: .global, device: "h100-sxm")])
        #expect(table.text().contains("coverage of [0] extrapolated: "))
        #expect(table.csvHeader.suffix(2) == ["coverage", "coverage_notes"])
        #expect(table.json().contains("\"coverage\""))
    }

    @Test func calibratedOnlyRefusesWhatTheCalibrationDoesNotCover() throws {
        func failure(_ arguments: [String]) throws -> CommandFailure? {
            var command = try StarSimCommand.parseAsRoot(arguments)
            do { try command.run() } catch let f as CommandFailure { return f }
            return nil
        }
        let base = ["project", "--model", "llama-3.1-8b", "--hosts", "4", "--gpus-per-host", "1", "--device", "h100-sxm",
                    "--methods", "star", "--calibrated-only"]
        #expect(try failure(base + ["--context", "16K"]) == nil)
        let f = try #require(try failure(base + ["--context", "16K,128K"]))
        #expect(f.code == 2)
        #expect(f.message.contains("1 of 2 configurations are not covered"))
        #expect(f.message.contains("linear work over tokens"))
    }
}
