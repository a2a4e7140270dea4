import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// Bytes one host sent (or one link carried) in one phase. Encoded as
/// `{"name": "host0", "phase": "context", "bytes": 123}`.
public struct PhaseBytes: Sendable, Hashable, Codable {
    public var name: String
    public var phase: Phase
    public var bytes: Int

    public init(name: String, phase: Phase, bytes: Int) {
        self.name = name
        self.phase = phase
        self.bytes = bytes
    }

    private enum CodingKeys: String, CodingKey { case name, phase, bytes }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        let text = try c.decode(String.self, forKey: .phase)
        guard let phase = Phase(name: text) else {
            throw DecodingError.dataCorruptedError(forKey: .phase, in: c, debugDescription:
                "unknown phase '\(text)'; expected one of \(Phase.allCases.map(\.description).joined(separator: ", "))")
        }
        self.phase = phase
        bytes = try c.decode(Int.self, forKey: .bytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(phase.description, forKey: .phase)
        try c.encode(bytes, forKey: .bytes)
    }
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

