import Foundation
import Testing
@testable import StarSim

/// Walks the ends of each documented range (`InputLimits`) through validation and the engine: a
/// configuration that passes `validate()` and `checkWork()` must project to a result (ok or a
/// reported OOM), never a failure, a trap or an unbounded run.
@Suite struct LimitsWalkTests {
    private func walk(_ sweep: ProjectionSweep) throws -> [ProjectionResult] {
        try sweep.validate()
        try sweep.checkWork()
        let results = CapacityProjection.sweep(sweep.configs(), parallel: true)
        for r in results {
            if case .failed(let why) = r.status { Issue.record("\(r.config.method) failed: \(why)") }
        }
        return results
    }

    @Test func contextAtItsUpperLimit() throws {
        var s = ProjectionSweep(models: [.llama31_8B], contexts: [InputLimits.contextTokens.upperBound], hosts: [64], gpusPerHost: [8])
        s.methods = [.global, .star, .ring]
        let results = try walk(s)
        #expect(results.contains { if case .ok = $0.status { return $0.timeToFirstToken != nil } else { return false } })
    }

    @Test func contextAtItsLowerLimitIsAValidationErrorOrAResult() throws {
        var s = ProjectionSweep(models: [.llama31_8B], contexts: [InputLimits.contextTokens.lowerBound], hosts: [1])
        s.methods = [.global, .star, .ring]
        _ = try walk(s)
    }

    @Test func hostsAndGPUsAtTheirLimits() throws {
        var s = ProjectionSweep(models: [.llama31_8B], contexts: [1 << 20], hosts: [InputLimits.hosts.upperBound],
                                gpusPerHost: [InputLimits.gpusPerHost.upperBound])
        s.methods = [.star]
        // 128 GPUs cannot each hold whole layers of a 32-layer model: a clear validation error…
        #expect(throws: StarSimError.self) { try s.validate() }
        // …while tensor parallelism splits every layer over them.
        s.combine = .tensorParallel
        _ = try walk(s)
        // Ring on the largest cluster is refused before it starts (hosts² · layers events).
        s.methods = [.ring]
        #expect(throws: StarSimError.self) { try s.checkWork() }
    }

    @Test func queryAndGenerateAtTheirLimits() throws {
        var s = ProjectionSweep(models: [.smolLM2_135M], contexts: [4096], hosts: [2], gpusPerHost: [1])
        s.methods = [.star]
        s.queryLength = InputLimits.queryTokens.upperBound
        _ = try walk(s)
        s.queryLength = 64
        s.methods = [.global]
        s.generate = InputLimits.generatedTokens.upperBound
        let results = try walk(s)
        #expect(results.first?.timePerOutputToken != nil)
        // Star decodes on every host: the same length on 2 hosts is refused before it starts.
        s.methods = [.star]
        #expect(throws: StarSimError.self) { try s.checkWork() }
    }

    /// The slowest and fastest devices and links the ranges allow give a result, or — when the
    /// simulated time would pass the 100-year horizon — that clear error, never a trap.
    @Test(arguments: [(1e6, 1e6, 1e3, 1.0), (1e18, 1e15, 1e14, 0.0)])
    func profileValuesAtTheirLimits(_ flops: Double, _ memoryBandwidth: Double, _ linkBandwidth: Double, _ latency: Double) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-walk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var device = try ProfileCatalog.device(named: "a100-80gb")
        device.name = "edge"
        device.flopsPerSecond.value = flops
        device.memoryBandwidthBytesPerSecond.value = memoryBandwidth
        try device.yaml.write(toFile: dir + "/edge.yaml", atomically: true, encoding: .utf8)
        var link = try ProfileCatalog.link(named: "ib-hdr")
        link.name = "edge-link"
        link.bandwidthBytesPerSecond.value = linkBandwidth
        link.latencySeconds.value = latency
        try link.yaml.write(toFile: dir + "/edge-link.yaml", atomically: true, encoding: .utf8)
        var s = ProjectionSweep(models: [.llama31_8B], contexts: [1 << 20], hosts: [16])
        s.methods = [.star, .ring]
        s.device = "edge"
        s.interHostLink = "edge-link"
        s.profileDirectory = dir
        try s.validate()
        try s.checkWork()
        for r in CapacityProjection.sweep(s.configs()) {
            if case .failed(let why) = r.status {
                #expect(why.contains("horizon"), "\(r.config.method): \(why)")
            }
        }
    }
}
