import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// Bytes one host sent (or one link carried) in one phase. Encoded as
/// `{"name": "host0", "phase": "context", "bytes": 123}`.
public struct PhaseBytes: Sendable, Hashable {
    public var name: String
    public var phase: Phase
    public var bytes: Int
}

extension PhaseBytes: Codable {
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
    /// Whether the projection stays inside the shapes its device was calibrated on (nil when it
    /// did not run).
    public var coverage: Coverage?
    /// The same configuration with its faults (`config.faults`); nil without.
    public var faulted: FaultedFigures?
    /// Over the random-fault trials (`config.randomFaults`); nil without.
    public var faultTrials: FaultTrials?
    /// The fault-free run laid out for the HTML report (`project --html`); nil otherwise. Not encoded.
    public var timeline: TimelineLayout?
    /// Where the fault-free run's time went (kept with the timeline; `compare` explains rows with it).
    /// Not encoded.
    public var breakdown: Breakdown?

    /// Where a run's time went: its critical path by kind, and how unevenly the hosts computed in
    /// prefill (causal imbalance).
    public struct Breakdown: Sendable, Hashable {
        /// Critical path seconds: compute, transfer, waiting (they sum to the run's length).
        public var compute: Double
        public var transfer: Double
        public var waiting: Double
        /// The host or link with the most time on the critical path (`host3`, `host0->host1`).
        public var heaviestResource: String?
        /// Context-encoding compute of the busiest host over the mean of the hosts (1 = even).
        public var prefillImbalance: Double
        /// Share of the critical path spent on links (transfer + waiting), 0…1.
        public var linkShare: Double {
            let total = compute + transfer + waiting
            return total > 0 ? (transfer + waiting) / total : 0
        }
    }

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

    public init(config: ProjectionConfig, status: Status) {
        self.config = config
        self.status = status
    }
}

/// Encoded flat: the configuration, `status` (`ok`/`OOM`/`error`) with its `message`, then the
/// numbers (sweep shards store results this way and `starsim merge` reads them back exactly).
extension ProjectionResult: Codable {
    private enum CodingKeys: String, CodingKey {
        case config, status, message, timeToFirstToken, timePerOutputToken, totalTime, bytesMoved, peakMemoryPerHost
        case hostCapacity, hostBytes, linkBytes, wallSeconds, coverage, faulted, faultTrials
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        config = try c.decode(ProjectionConfig.self, forKey: .config)
        let text = try c.decode(String.self, forKey: .status)
        let message = try c.decodeIfPresent(String.self, forKey: .message) ?? ""
        switch text {
        case "ok": status = .ok
        case "OOM": status = .outOfMemory(message)
        case "error": status = .failed(message)
        default:
            throw DecodingError.dataCorruptedError(forKey: .status, in: c, debugDescription: "unknown status '\(text)'; expected ok, OOM or error")
        }
        timeToFirstToken = try c.decodeIfPresent(Double.self, forKey: .timeToFirstToken)
        timePerOutputToken = try c.decodeIfPresent(Double.self, forKey: .timePerOutputToken)
        totalTime = try c.decodeIfPresent(Double.self, forKey: .totalTime)
        bytesMoved = try c.decode(Int.self, forKey: .bytesMoved)
        peakMemoryPerHost = try c.decode(Int64.self, forKey: .peakMemoryPerHost)
        hostCapacity = try c.decode(Int64.self, forKey: .hostCapacity)
        hostBytes = try c.decode([PhaseBytes].self, forKey: .hostBytes)
        linkBytes = try c.decode([PhaseBytes].self, forKey: .linkBytes)
        wallSeconds = try c.decode(Double.self, forKey: .wallSeconds)
        coverage = try c.decodeIfPresent(Coverage.self, forKey: .coverage)
        faulted = try c.decodeIfPresent(FaultedFigures.self, forKey: .faulted)
        faultTrials = try c.decodeIfPresent(FaultTrials.self, forKey: .faultTrials)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(config, forKey: .config)
        try c.encode(statusText, forKey: .status)
        try c.encodeIfPresent(message, forKey: .message)
        try c.encodeIfPresent(timeToFirstToken, forKey: .timeToFirstToken)
        try c.encodeIfPresent(timePerOutputToken, forKey: .timePerOutputToken)
        try c.encodeIfPresent(totalTime, forKey: .totalTime)
        try c.encode(bytesMoved, forKey: .bytesMoved)
        try c.encode(peakMemoryPerHost, forKey: .peakMemoryPerHost)
        try c.encode(hostCapacity, forKey: .hostCapacity)
        try c.encode(hostBytes, forKey: .hostBytes)
        try c.encode(linkBytes, forKey: .linkBytes)
        try c.encode(wallSeconds, forKey: .wallSeconds)
        try c.encodeIfPresent(coverage, forKey: .coverage)
        try c.encodeIfPresent(faulted, forKey: .faulted)
        try c.encodeIfPresent(faultTrials, forKey: .faultTrials)
    }
}

/// A configuration's figures with its faults (`ProjectionConfig.faults`), next to the fault-free ones
/// of its ``ProjectionResult``.
public struct FaultedFigures: Sendable, Hashable, Codable {
    /// `nil` when the faulted run completed; otherwise why it did not (e.g. out of memory).
    public var error: String?
    public var timeToFirstToken: Double?
    public var timePerOutputToken: Double?
    public var totalTime: Double?
    /// Bytes that crossed links, all phases, including what was sent again.
    public var bytesMoved: Int = 0
    /// Bytes delivered before a lost host's recovery that were sent again.
    public var bytesResent: Int = 0
    public var reroutedMessages: Int = 0
    public var waitingMessages: Int = 0
    /// Per lost host: how many hosts restarted (1 = the spare alone).
    public var restartedHosts: [Int] = []
    /// Compute thrown away by losses, seconds.
    public var workLostSeconds: Double = 0
    /// The host or link with the most time on the faulted run's critical path.
    public var criticalResource: String?
    /// Fault fields that name hosts this configuration does not have.
    public var skippedFaults: [String] = []
    /// Faults that would have started after this configuration's faulted run ended
    /// (`faults.links[0].from_seconds: 50s is after the run ended at 12.8s`).
    public var notHappened: [String] = []
    public init() {}
}
