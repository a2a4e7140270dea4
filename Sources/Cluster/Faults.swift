/// Faults injected into a run: slow or failed links, slow hosts, lost hosts (`Docs/Faults.md`).
///
/// A plain value: the scheduler reads it (link changes and losses are events on its queue, a
/// straggler's speed is applied when a compute step starts), so the same plan gives the same run.
/// Every fault carries the `field` it came from (e.g. `"faults.links[0]"`) so that errors name it.
public struct FaultPlan: Sendable, Hashable, Codable {
    /// `[from, until)` in virtual time; `until == nil` means to the end of the run.
    public struct Window: Sendable, Hashable, Codable, CustomStringConvertible {
        public var from: SimInstant
        public var until: SimInstant?
        public init(from: SimInstant = .zero, until: SimInstant? = nil) { self.from = from; self.until = until }
        public func contains(_ t: SimInstant) -> Bool { t >= from && (until.map { t < $0 } ?? true) }
        public var description: String {
            if let until { return "\(from)–\(until)" }
            return from == .zero ? "the whole run" : "from \(from)"
        }
    }

    /// Which links a link fault applies to.
    public enum LinkSelector: Sendable, Hashable, Codable, CustomStringConvertible {
        /// One directed link (`host0->host1`); intra-host links are named `hostN(intra)`.
        case link(LinkID)
        /// Every link between two different hosts.
        case allInterHost

        public func matches(_ link: LinkID) -> Bool {
            switch self {
            case .link(let l): l == link
            case .allInterHost: !link.isIntraHost
            }
        }
        public var description: String {
            switch self {
            case .link(let l): l.description
            case .allInterHost: "all inter-host links"
            }
        }
    }

    /// What happens to the selected links during the window.
    public enum LinkEffect: Sendable, Hashable, Codable {
        /// Bandwidth × `bandwidthFactor` (in (0, 1]; factors of overlapping faults multiply) and
        /// `extraLatency` more per message that starts crossing the link in the window.
        case degraded(bandwidthFactor: Double, extraLatency: SimDuration)
        /// No bytes cross. A message sent meanwhile takes another path if the topology has one;
        /// a message already on the link, or with no other path, waits until the link is back.
        case down
    }

    public struct LinkFault: Sendable, Hashable, Codable {
        public var links: LinkSelector
        public var effect: LinkEffect
        public var window: Window
        /// Where the fault was given, for errors and reports (`"faults.links[0]"`).
        public var field: String
        public init(links: LinkSelector, effect: LinkEffect, window: Window, field: String) {
            self.links = links; self.effect = effect; self.window = window; self.field = field
        }
    }

    /// A host whose compute steps run at `speedFactor` × its speed (in (0, 1]) during the window.
    /// A step that spans the window's edge runs at each speed for its part (piecewise).
    public struct Straggler: Sendable, Hashable, Codable {
        public var host: HostID
        public var speedFactor: Double
        public var window: Window
        public var field: String
        public init(host: HostID, speedFactor: Double, window: Window, field: String) {
            self.host = host; self.speedFactor = speedFactor; self.window = window; self.field = field
        }
    }

    /// `host` is lost at `at`: its memory, queued work and messages in flight to or from it are gone.
    /// Recovery (the engine's one rule, `Docs/Faults.md`): a spare takes the host's place after
    /// `FaultPlan.recoveryDelay`. If nothing the lost host sent has reached another host yet, no other
    /// host's state depends on it: only its program restarts on the spare, and the messages it had
    /// received are sent to the spare again by their senders (Star's phase 1). Otherwise its state
    /// lives on in the others: every host restarts its program from the start (Ring after its first
    /// step, any method in phase 2).
    public struct HostLoss: Sendable, Hashable, Codable {
        public var host: HostID
        public var at: SimInstant
        public var field: String
        public init(host: HostID, at: SimInstant, field: String) { self.host = host; self.at = at; self.field = field }
    }

    public var links: [LinkFault]
    public var stragglers: [Straggler]
    public var hostLosses: [HostLoss]
    /// Time from a loss until the spare host starts (detection + start-up + loading weights), ≥ 0.
    public var recoveryDelay: SimDuration

    /// The default `recoveryDelay`: 10 s (a heartbeat timeout of a few seconds plus a warm spare
    /// process; an assumption, not a measurement — set it for your cluster).
    public static let defaultRecoveryDelay = SimDuration.seconds(10)

    public init(links: [LinkFault] = [], stragglers: [Straggler] = [], hostLosses: [HostLoss] = [],
                recoveryDelay: SimDuration = FaultPlan.defaultRecoveryDelay) {
        self.links = links
        self.stragglers = stragglers
        self.hostLosses = hostLosses
        self.recoveryDelay = recoveryDelay
    }

    /// No fault at all.
    public static let none = FaultPlan()
    public var isEmpty: Bool { links.isEmpty && stragglers.isEmpty && hostLosses.isEmpty }

    /// Checks the plan against `topology`, throwing `.invalidFault` naming the field and value: a host
    /// or link that does not exist, a factor outside (0, 1], a negative time or latency, an empty
    /// window, a link that is down with no end.
    public func validate(against topology: Topology) throws(ClusterError) {
        func check(_ w: Window, _ field: String) throws(ClusterError) {
            if w.from.nanoseconds < 0 { throw .invalidFault(field: "\(field).from_seconds", reason: "must be >= 0 s, got \(w.from)") }
            if let u = w.until, u <= w.from {
                throw .invalidFault(field: "\(field).until_seconds", reason: "must be after from (\(w.from)), got \(u)")
            }
        }
        func checkHost(_ h: HostID, _ field: String) throws(ClusterError) {
            if !topology.contains(h) {
                throw .invalidFault(field: field, reason: "no host \(h) in a cluster of \(topology.hostCount) (host0–host\(topology.hostCount - 1))")
            }
        }
        if recoveryDelay.nanoseconds < 0 {
            throw .invalidFault(field: "faults.recovery_delay_seconds", reason: "must be >= 0 s, got \(recoveryDelay)")
        }
        for f in links {
            try check(f.window, f.field)
            if case .link(let l) = f.links, !topology.hasLink(l) {
                try checkHost(l.from, "\(f.field).link")
                try checkHost(l.to, "\(f.field).link")
                throw .invalidFault(field: "\(f.field).link",
                                    reason: "no link \(l) in a \(topology.shape) of \(topology.hostCount) hosts")
            }
            switch f.effect {
            case .degraded(let factor, let extra):
                if !(factor.isFinite && factor > 0 && factor <= 1) {
                    throw .invalidFault(field: "\(f.field).bandwidth_factor",
                                        reason: "must be in (0, 1] (a share of the link's bandwidth; use `down` for a failed link), got \(factor)")
                }
                if extra.nanoseconds < 0 {
                    throw .invalidFault(field: "\(f.field).extra_latency_seconds", reason: "must be >= 0 s, got \(extra)")
                }
            case .down:
                if f.window.until == nil {
                    throw .invalidFault(field: "\(f.field).until_seconds",
                                        reason: "a failed link needs an end (messages on it wait for it); for a lost host use host_loss")
                }
            }
        }
        for s in stragglers {
            try checkHost(s.host, "\(s.field).host")
            try check(s.window, s.field)
            if !(s.speedFactor.isFinite && s.speedFactor > 0 && s.speedFactor <= 1) {
                throw .invalidFault(field: "\(s.field).speed_factor", reason: "must be in (0, 1], got \(s.speedFactor)")
            }
        }
        for l in hostLosses {
            try checkHost(l.host, "\(l.field).host")
            if l.at.nanoseconds < 0 { throw .invalidFault(field: "\(l.field).at_seconds", reason: "must be >= 0 s, got \(l.at)") }
        }
    }

    // MARK: State at an instant

    /// Instants at which some link's state changes, sorted, unique.
    public var linkChangeInstants: [SimInstant] {
        var set = Set<SimInstant>()
        for f in links {
            set.insert(f.window.from)
            if let u = f.window.until { set.insert(u) }
        }
        return set.sorted()
    }

    /// The state of `link` at `t`: bandwidth factor (0 when down), extra latency per message, and
    /// whether it is down.
    public func linkState(_ link: LinkID, at t: SimInstant) -> (factor: Double, extraLatency: SimDuration, down: Bool) {
        var factor = 1.0, extra = SimDuration.zero, down = false
        for f in links where f.window.contains(t) && f.links.matches(link) {
            switch f.effect {
            case .degraded(let k, let e): factor *= k; extra = extra + e
            case .down: down = true
            }
        }
        return (down ? 0 : factor, extra, down)
    }

    /// The speed factor of `host` at `t` (product of the stragglers covering `t`; 1 when none).
    public func speed(of host: HostID, at t: SimInstant) -> Double {
        var s = 1.0
        for f in stragglers where f.host == host && f.window.contains(t) { s *= f.speedFactor }
        return s
    }

    /// When a compute step of `cost` (its duration at full speed) that starts at `start` on `host`
    /// ends, running at each straggler window's speed for the part of it inside that window.
    public func computeEnd(host: HostID, start: SimInstant, cost: SimDuration) -> SimInstant {
        let mine = stragglers.filter { $0.host == host }
        if mine.isEmpty { return start + cost }
        var edges = Set<SimInstant>()
        for s in mine {
            if s.window.from > start { edges.insert(s.window.from) }
            if let u = s.window.until, u > start { edges.insert(u) }
        }
        var t = start
        var work = Double(cost.nanoseconds)  // full-speed nanoseconds left
        for edge in edges.sorted() {
            let speed = self.speed(of: host, at: t)
            let span = Double((edge - t).nanoseconds)
            if work <= span * speed { break }
            work -= span * speed
            t = edge
        }
        let speed = self.speed(of: host, at: t)
        return t + SimDuration(saturatingNanoseconds: (work / speed).rounded(.up))
    }
}

/// What the faults of a run did (`RunReport.faults`): link state changes, messages that went
/// around or waited for a failed link, and each lost host's recovery.
public struct FaultOutcome: Sendable, Hashable {
    public struct LinkChange: Sendable, Hashable {
        public var at: SimInstant
        public var link: LinkID
        /// Share of the link's bandwidth from `at` (0 = down, 1 = healthy again).
        public var bandwidthFactor: Double
        public var extraLatency: SimDuration
    }

    /// One lost host and how the run recovered.
    public struct Recovery: Sendable, Hashable {
        public var host: HostID
        /// The fault's field (`faults.host_loss[0]`).
        public var field: String
        public var lostAt: SimInstant
        public var spareStartsAt: SimInstant
        /// Hosts whose programs restarted: the lost one alone, or all.
        public var restartedHosts: [HostID]
        /// Bytes delivered before the loss that the restarted programs send again.
        public var bytesResent: Int
        /// Compute time thrown away: the restarted hosts' steps before the loss, including the part
        /// of steps cut short.
        public var workLost: SimDuration
    }

    public var linkChanges: [LinkChange] = []
    /// Messages that took another path around a failed link.
    public var reroutedMessages = 0
    /// Messages with no path around a failed link, which waited for it.
    public var waitingMessages = 0
    public var recoveries: [Recovery] = []
    /// Faults that would have started after the run ended, so did not happen.
    public var notHappened: [Late] = []

    /// A fault that starts at or after the end of the run.
    public struct Late: Sendable, Hashable, CustomStringConvertible {
        /// The field of its start (`faults.host_loss[0].at_seconds`).
        public var field: String
        public var at: SimInstant
        public var runEnded: SimInstant
        public var description: String { "\(field): \(at) is after the run ended at \(runEnded)" }
    }
    public init() {}
}

extension FaultPlan {
    /// One line per fault, for reports: `faults.links[0]: host0->host1 at 10% bandwidth, 0.5 s–2 s`.
    public var lines: [String] {
        func pct(_ x: Double) -> String { "\((x * 100).formatted(.number.precision(.significantDigits(1...3))))%" }
        var out: [String] = []
        for f in links {
            let what: String
            switch f.effect {
            case .down: what = "down"
            case .degraded(let k, let e):
                what = [k < 1 ? "at \(pct(k)) bandwidth" : nil, e > .zero ? "+\(e) latency per message" : nil]
                    .compactMap { $0 }.joined(separator: ", ")
            }
            out.append("\(f.field): \(f.links) \(what), \(f.window)")
        }
        for s in stragglers { out.append("\(s.field): \(s.host) computes at \(pct(s.speedFactor)) speed, \(s.window)") }
        for l in hostLosses { out.append("\(l.field): \(l.host) lost at \(l.at); a spare starts \(recoveryDelay) later") }
        return out
    }
}
