import Cluster
import DistributedAttention

extension Phase {
    /// The engine's tag for this phase: what the run log, counters, traces and timelines record.
    public var tag: PhaseTag { PhaseTag(description) }

    /// The phase a run-log tag names, nil for a tag of no attention phase.
    public init?(tag: PhaseTag) { self.init(name: tag.name) }
}
