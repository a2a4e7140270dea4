import Cluster
import Foundation


/// Faults drawn at random for projections (`faults.random`, `Docs/Faults.md`): every inter-host
/// link fails as a Poisson process at `linkFailuresPerHour` and stays down `linkRepairSeconds`;
/// every host is lost at most once, at an exponential time with rate `hostFailuresPerHour`.
/// Faults are drawn over the fault-free run's length (a run that faults make longer is not exposed
/// to new faults in its extra time: the figures are a lower bound on the damage).
///
/// Trial `i` draws from `SplitMix64(seed + i)`, whatever the configuration: every method of a sweep
/// sees the same realisations on the same cluster size (common random numbers), so their
/// differences are the methods', not the dice's.
public struct RandomFaults: Sendable, Hashable, Codable {
    public var trials: Int
    public var seed: UInt64
    /// Failures per inter-host link per hour (0 = none).
    public var linkFailuresPerHour: Double
    /// How long a failed link stays down, seconds.
    public var linkRepairSeconds: Double
    /// Losses per host per hour (0 = none).
    public var hostFailuresPerHour: Double

    public init(trials: Int = 100, seed: UInt64 = 1, linkFailuresPerHour: Double = 0, linkRepairSeconds: Double = 30,
                hostFailuresPerHour: Double = 0) {
        self.trials = trials
        self.seed = seed
        self.linkFailuresPerHour = linkFailuresPerHour
        self.linkRepairSeconds = linkRepairSeconds
        self.hostFailuresPerHour = hostFailuresPerHour
    }

    /// The faults of trial `trial` on `topology` during `[0, horizon)`, on top of `fixed` (whose
    /// recovery delay they share). Fields read `faults.random[trial].links[k]`.
    public func sample(trial: Int, topology: Topology, horizon: SimInstant, fixed: FaultPlan = .none) -> FaultPlan {
        var rng = SeededGenerator(seed: seed &+ UInt64(trial))
        var plan = fixed
        let end = horizon.seconds
        func exponential(_ ratePerSecond: Double) -> Double {
            // Inverse CDF on (0, 1]: never log(0).
            let u = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_992.0
            return -log(u) / ratePerSecond
        }
        func instant(_ s: Double) -> SimInstant { SimInstant(nanoseconds: SimDuration.seconds(s).nanoseconds) }
        // Links first, in LinkID order, then hosts: the draw sequence is fixed by the topology alone.
        if linkFailuresPerHour > 0 {
            let rate = linkFailuresPerHour / 3600
            for link in topology.links where !link.isIntraHost {
                var t = exponential(rate)
                while t < end {
                    plan.links.append(.init(links: .link(link), effect: .down,
                                            window: .init(from: instant(t), until: instant(t + linkRepairSeconds)),
                                            field: "faults.random[\(trial)].links[\(plan.links.count)]"))
                    t += linkRepairSeconds + exponential(rate)
                }
            }
        }
        if hostFailuresPerHour > 0 {
            let rate = hostFailuresPerHour / 3600
            for host in topology.hosts {
                let t = exponential(rate)
                if t < end {
                    plan.hostLosses.append(.init(host: host, at: instant(t),
                                                 field: "faults.random[\(trial)].host_loss[\(plan.hostLosses.count)]"))
                }
            }
        }
        return plan
    }

    /// `100 trials (seed 1): links fail 0.5/h each, down 30 s; hosts 0.1/h each`.
    public var summary: String {
        var parts: [String] = []
        if linkFailuresPerHour > 0 { parts.append("links fail \(linkFailuresPerHour)/h each, down \(linkRepairSeconds) s") }
        if hostFailuresPerHour > 0 { parts.append("hosts are lost \(hostFailuresPerHour)/h each") }
        return "\(trials) trials (seed \(seed)): " + (parts.isEmpty ? "no random faults" : parts.joined(separator: "; "))
    }
}

/// Time to first token and to the end over the random-fault trials of one configuration.
public struct FaultTrials: Sendable, Hashable, Codable {
    public var trials: Int
    /// Trials in which at least one fault happened.
    public var trialsWithFaults: Int
    public var ttftMean: Double
    public var ttftP50: Double
    public var ttftP99: Double
    public var totalMean: Double
    public var totalP99: Double

    /// Summaries of per-trial seconds (nearest-rank percentiles).
    public init(ttft: [Double], total: [Double], withFaults: Int) {
        func rank(_ xs: [Double], _ p: Double) -> Double {
            let s = xs.sorted()
            return s.isEmpty ? .nan : s[max(0, Int((p * Double(s.count)).rounded(.up)) - 1)]
        }
        trials = ttft.count
        trialsWithFaults = withFaults
        ttftMean = ttft.isEmpty ? .nan : ttft.reduce(0, +) / Double(ttft.count)
        ttftP50 = rank(ttft, 0.5)
        ttftP99 = rank(ttft, 0.99)
        totalMean = total.isEmpty ? .nan : total.reduce(0, +) / Double(total.count)
        totalP99 = rank(total, 0.99)
    }
}
