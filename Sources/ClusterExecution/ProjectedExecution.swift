import Cluster
import DistributedAttention
import Projection

/// Projections: the same programs, shells and scheduler as a real run, with hosts that carry shapes
/// instead of tensors and charge only modeled time.
public enum ProjectedExecution {
    /// Projects `method` for `model` on `setup`, generating exactly `generateTokens` tokens.
    ///
    /// Memory is tracked per host by the engine (weights, KV, hidden states) against
    /// `gpusPerHost × capacity`; a configuration that does not fit throws `ClusterError` (out of memory,
    /// naming host, bytes needed and capacity) rather than being silently projected.
    ///
    /// - Parameters:
    ///   - granularity: `.perLayer` (default) shows overlap per layer, ring step and merge;
    ///     `.coarse` folds communication-free stretches into one event for very large sweeps.
    ///   - recordsLog: keep every record (needed for traces and the critical path; counters, TTFT and
    ///     TPOT do not need it, so memory stays flat without it).
    ///   - progress: called every 200,000 events with (events, simulated time).
    public static func run(model: ModelSpec, method: AttentionMethod, name: String, setup: ClusterSetup,
                           generateTokens: Int, recordsLog: Bool = true,
                           progress: (@Sendable (Int, SimInstant) -> Void)? = nil) throws -> MethodOutcome {
        var setup = setup
        setup.timing = .modeled
        return try ClusterExecution.run(
            method, name: name, setup: setup, shape: model.shape, weightBytes: model.weightBytes,
            stopTokens: [], maxNewTokens: generateTokens, recordsLog: recordsLog, simulationProgress: progress,
            recordShapes: true, makeBackend: { _ in ModeledBackend() }).outcome
    }
}

extension MethodOutcome {
    /// End of the first `sample` step: time to first token (context encoding + query encoding).
    public var timeToFirstToken: SimDuration? { sampleEnds.first.map { $0 - .zero } }

    /// Mean time between consecutive sampled tokens (nil with fewer than two).
    public var timePerOutputToken: SimDuration? {
        let ends = sampleEnds
        guard ends.count >= 2 else { return nil }
        return SimDuration(nanoseconds: (ends.last! - ends.first!).nanoseconds / Int64(ends.count - 1))
    }

    /// Latest end of any compute or transfer of `phase`.
    public func phaseEnd(_ phase: Phase) -> SimInstant? {
        let tag = phase.tag
        var latest: SimInstant?
        for record in report.log.records {
            switch record {
            case .compute(let step) where step.phase == tag:
                latest = max(latest ?? step.end, step.end)
            case .transfer(let message) where message.phase == tag:
                latest = max(latest ?? message.delivered, message.delivered)
            default: break
            }
        }
        return latest
    }

    /// Total bytes that crossed links (inter- and intra-host).
    public var bytesMoved: Int { counters.hosts.reduce(0) { $0 + $1.bytesSent } }

    /// Highest memory in use on any host, bytes.
    public var peakMemoryPerHost: Int64 { report.hosts.map(\.counters.memoryPeak).max() ?? 0 }
}
