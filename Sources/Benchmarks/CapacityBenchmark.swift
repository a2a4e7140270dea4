import Cluster
import ClusterExecution
import Dispatch
import DistributedAttention
import Foundation
import Kernels
import Llama
import Projection
import StarSim

/// Timings of the projection engine on this machine (`starsim project --benchmark`).
public enum CapacityBenchmark {
    /// Runs (1) Star and Ring for Llama-3.1-70B at 1M tokens on 16 hosts × 4 A100s (2 GPUs per host
    /// do not hold the 141 GB of weights plus 64K tokens of KV) with per-layer events, (2) a
    /// 200-configuration sweep (``sweepConfigs()``) on all cores and serially, per-layer and coarse.
    /// Returns printable lines with wall seconds.
    public static func run(sweepSize: Int = 200) -> [String] {
        var lines: [String] = []
        func wall(_ body: () -> Void) -> Double {
            let t = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
        }
        for method in [MethodKind.star, .ring] {
            let c = ProjectionConfig(model: .llama31_70B, method: method, contextLength: 1 << 20, hosts: 16,
                                     gpusPerHost: 4, generateTokens: 1)
            var r: ProjectionResult?
            let s = wall { r = CapacityProjection.project(c) }
            lines.append(String(format: "70B 1M 16x4 %@ per-layer: %.3f s wall (projected TTFT %@, %@)",
                                method.rawValue, s, r?.timeToFirstToken.map { String(format: "%.2f s", $0) } ?? "-",
                                r?.statusText ?? "-"))
        }
        for granularity in [Granularity.perLayer, .coarse] {
            let configs = Array(sweepConfigs().prefix(sweepSize)).map { c -> ProjectionConfig in
                var c = c
                c.granularity = granularity
                return c
            }
            let name = granularity == .perLayer ? "per-layer" : "coarse"
            var parallel: [ProjectionResult] = []
            let p = wall { parallel = CapacityProjection.sweep(configs, parallel: true) }
            lines.append(String(format: "%d-configuration sweep (%@), %d cores: %.3f s wall", configs.count, name,
                                ProcessInfo.processInfo.activeProcessorCount, p))
            var serial: [ProjectionResult] = []
            let s = wall { serial = CapacityProjection.sweep(configs, parallel: false) }
            lines.append(String(format: "%d-configuration sweep (%@), serial: %.3f s wall (identical results: %@)",
                                configs.count, name, s,
                                CapacityTable(results: serial).csv() == CapacityTable(results: parallel).csv() ? "yes" : "NO"))
        }
        return lines
    }

    /// 200+ configurations: 8B and 70B, 16K–1M, 1–16 hosts, 1–2 GPUs, four methods (invalid plans
    /// and OOMs included, as in a real sweep).
    public static func sweepConfigs() -> [ProjectionConfig] {
        var out: [ProjectionConfig] = []
        for model in [ModelSpec.llama31_8B, .llama31_70B] {
            for L in [16, 32, 64, 128, 256, 512, 1024].map({ $0 * 1024 }) {
                for hosts in [2, 4, 8, 16] {
                    for gpus in [2, 4] {
                        for m in MethodKind.standard where m != .global || hosts == 2 {
                            out.append(ProjectionConfig(model: model, method: m, contextLength: L, hosts: hosts,
                                                        gpusPerHost: gpus, generateTokens: 1))
                        }
                    }
                }
            }
        }
        return out
    }
}
