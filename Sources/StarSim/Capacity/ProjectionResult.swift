import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// Bytes one host sent in one phase.
public struct PhaseBytes: Sendable, Hashable, Codable {
    public var name: String
    public var phase: String
    public var bytes: Int
}

/// The projected outcome of one ``ProjectionConfig``.
public struct ProjectionResult: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        /// Projected: times below are valid.
        case ok
        /// The configuration does not fit in memory (the engine's message, with bytes).
        case outOfMemory(String)
        /// The plan is invalid or the run failed (message says why).
        case failed(String)
    }

    public var config: ProjectionConfig
    public var status: Status
    /// Seconds to the first sampled token (context + query encoding).
    public var timeToFirstToken: Double?
    /// Mean seconds between sampled tokens (nil with one token).
    public var timePerOutputToken: Double?
    /// Seconds to the last sampled token.
    public var totalTime: Double?
    /// Bytes that crossed links, all phases.
    public var bytesMoved: Int = 0
    /// Highest memory in use on any host, bytes.
    public var peakMemoryPerHost: Int64 = 0
    /// Capacity of one host (GPUs × device memory), bytes.
    public var hostCapacity: Int64 = 0
    /// Bytes sent by each host per phase (`host0`, `context`, …), sorted by host then phase.
    public var hostBytes: [PhaseBytes] = []
    /// Bytes carried by each link per phase, sorted by link then phase.
    public var linkBytes: [PhaseBytes] = []
    /// Wall seconds the projection took on this machine.
    public var wallSeconds: Double = 0

    /// Short status text: `ok`, `OOM`, `error`.
    public var statusText: String {
        switch status {
        case .ok: return "ok"
        case .outOfMemory: return "OOM"
        case .failed: return "error"
        }
    }

    /// The OOM / error message, nil when ok.
    public var message: String? {
        switch status {
        case .ok: return nil
        case .outOfMemory(let m), .failed(let m): return m
        }
    }
}
