import Cluster
import ConfigFiles
import Foundation

/// The `faults:` section of a scenario, or a `--faults FILE` for `project` (`Docs/Faults.md`):
///
/// ```yaml
/// faults:
///   recovery_delay_seconds: 10          # loss → spare starts (default 10)
///   links:
///     - link: host0->host1              # or inter-host (every link between hosts)
///       bandwidth_factor: 0.1           # share of the bandwidth, (0, 1]
///       extra_latency_seconds: 0.0001   # per message, default 0
///       from_seconds: 0.5               # default 0
///       until_seconds: 2                # default: to the end of the run
///     - link: host2->host3
///       down: true                      # failed: needs until_seconds
///       from_seconds: 1
///       until_seconds: 1.5
///   stragglers:
///     - host: 2                         # or host2
///       speed_factor: 0.5               # (0, 1]
///       from_seconds: 0                 # default 0; until_seconds optional
///   host_loss:
///     - host: 3
///       at_seconds: 1.2
///   random:                             # projections only: drawn per trial (RandomFaults)
///     trials: 100
///     seed: 1
///     link_failures_per_hour: 0.5       # per inter-host link
///     link_repair_seconds: 30
///     host_failures_per_hour: 0.1       # per host
/// ```
///
/// Parsing checks types, ranges and names; whether a host or link exists is checked against the
/// cluster a method runs on (`FaultPlan.validate`), naming the same field.
public enum FaultSection {
    /// Parses a `faults` mapping without a `random` part (scenarios: real runs).
    public static func parse(_ node: ConfigNode) throws(ConfigError) -> FaultPlan {
        let (plan, _) = try parse(node, allowRandom: false)
        return plan
    }

    /// Parses a `faults` mapping; `random` only when `allowRandom` (projections).
    public static func parse(_ node: ConfigNode, allowRandom: Bool) throws(ConfigError) -> (fixed: FaultPlan, random: RandomFaults?) {
        guard node.isMapping else { throw node.error("expected a mapping with links, stragglers or host_loss, found \(node.kind)") }
        var plan = FaultPlan()
        if let d = node.optional("recovery_delay_seconds") {
            plan.recoveryDelay = SimDuration.seconds(try d.asDouble(range: 0...InputLimits.simulatedTimeHorizonSeconds))
        }
        for item in try node.optional("links")?.asList() ?? [] {
            guard item.isMapping else { throw item.error("expected a mapping with link and bandwidth_factor, extra_latency_seconds or down, found \(item.kind)") }
            let selector = try linkSelector(item.required("link", expected: "a link such as host0->host1, or inter-host"))
            let window = try self.window(item)
            let down = try item.bool("down", default: false)
            let effect: FaultPlan.LinkEffect
            if down {
                if item.has("bandwidth_factor") || item.has("extra_latency_seconds") {
                    throw item.error("a failed link carries nothing; give either down: true or bandwidth_factor / extra_latency_seconds", field: "down")
                }
                guard window.until != nil else {
                    throw item.error("missing; a failed link needs an end (messages on it wait for it to come back); for a lost host use host_loss", field: "until_seconds")
                }
                effect = .down
            } else {
                guard item.has("bandwidth_factor") || item.has("extra_latency_seconds") else {
                    throw item.error("missing; expected bandwidth_factor (0 < f <= 1), extra_latency_seconds or down: true", field: "bandwidth_factor")
                }
                let factor = try item.optional("bandwidth_factor").map { n throws(ConfigError) in try factorValue(n, what: "share of the link's bandwidth") } ?? 1
                let extra = try item.double("extra_latency_seconds", default: 0, range: InputLimits.faultExtraLatencySeconds)
                effect = .degraded(bandwidthFactor: factor, extraLatency: .seconds(extra))
            }
            try item.finish()
            plan.links.append(.init(links: selector, effect: effect, window: window, field: item.path))
        }
        for item in try node.optional("stragglers")?.asList() ?? [] {
            guard item.isMapping else { throw item.error("expected a mapping with host and speed_factor, found \(item.kind)") }
            let host = try hostID(item.required("host", expected: "a host number (0 for host0) or a name such as host2"))
            let factor = try factorValue(item.required("speed_factor", expected: "a share of the host's speed, 0 < f <= 1"),
                                         what: "share of the host's speed")
            let window = try self.window(item)
            try item.finish()
            plan.stragglers.append(.init(host: host, speedFactor: factor, window: window, field: item.path))
        }
        for item in try node.optional("host_loss")?.asList() ?? [] {
            guard item.isMapping else { throw item.error("expected a mapping with host and at_seconds, found \(item.kind)") }
            let host = try hostID(item.required("host", expected: "a host number (0 for host0) or a name such as host2"))
            let at = try item.double("at_seconds", range: 0...InputLimits.simulatedTimeHorizonSeconds)
            try item.finish()
            plan.hostLosses.append(.init(host: host, at: SimInstant(nanoseconds: SimDuration.seconds(at).nanoseconds), field: item.path))
        }
        var random: RandomFaults?
        if let r = node.optional("random") {
            guard allowRandom else {
                throw r.error("random faults are for projections (starsim project --faults FILE, or a sweep's faults:); "
                    + "a real run takes the faults listed here")
            }
            guard r.isMapping else { throw r.error("expected a mapping with trials, link_failures_per_hour or host_failures_per_hour, found \(r.kind)") }
            var x = RandomFaults()
            x.trials = try r.int("trials", default: x.trials, range: InputLimits.faultTrials)
            x.seed = UInt64(try r.int("seed", default: 1, range: 0...Int.max))
            x.linkFailuresPerHour = try r.double("link_failures_per_hour", default: 0, range: InputLimits.faultsPerHour)
            x.linkRepairSeconds = try r.double("link_repair_seconds", default: x.linkRepairSeconds, range: InputLimits.linkRepairSeconds)
            x.hostFailuresPerHour = try r.double("host_failures_per_hour", default: 0, range: InputLimits.faultsPerHour)
            guard x.linkFailuresPerHour > 0 || x.hostFailuresPerHour > 0 else {
                throw r.error("missing; expected link_failures_per_hour or host_failures_per_hour above 0", field: "link_failures_per_hour")
            }
            try r.finish()
            random = x
        }
        try node.finish()
        return (plan, random)
    }

    /// Loads a file that holds a `faults:` mapping (as in a scenario, `random` allowed).
    public static func load(file: String) throws(ConfigError) -> (fixed: FaultPlan, random: RandomFaults?) {
        let root = try ConfigNode.load(file: file)
        guard root.isMapping else { throw root.error("expected a mapping with a 'faults' section, found \(root.kind)") }
        let parsed = try parse(root.required("faults", expected: "a mapping with links, stragglers, host_loss or random"),
                               allowRandom: true)
        try root.finish()
        return parsed
    }

    static func factorValue(_ node: ConfigNode, what: String) throws(ConfigError) -> Double {
        let v = try node.asDouble()
        guard v > 0 && v <= 1 else {
            throw node.error("\(String(format: "%g", v)) is out of range; expected a \(what) in (0, 1] (1 = healthy)")
        }
        return v
    }

    static func window(_ item: ConfigNode) throws(ConfigError) -> FaultPlan.Window {
        let limit = 0...InputLimits.simulatedTimeHorizonSeconds
        let from = try item.double("from_seconds", default: 0, range: limit)
        let until = try item.optional("until_seconds")?.asDouble(range: limit)
        if let until, until <= from {
            throw item.error("\(String(format: "%g", until)) s is not after from_seconds (\(String(format: "%g", from)) s)", field: "until_seconds")
        }
        return .init(from: SimInstant(nanoseconds: SimDuration.seconds(from).nanoseconds),
                     until: until.map { SimInstant(nanoseconds: SimDuration.seconds($0).nanoseconds) })
    }

    /// `2`, `host2`.
    static func hostID(_ node: ConfigNode) throws(ConfigError) -> HostID {
        let text = try node.asString(expected: "a host number or name such as host2")
        let digits = text.hasPrefix("host") ? String(text.dropFirst(4)) : text
        guard let n = Int(digits), n >= 0, n < InputLimits.hosts.upperBound else {
            throw node.error("'\(text)' is not a host; expected a host number (0 for host0) or a name such as host2")
        }
        return HostID(n)
    }

    /// `host0->host1`, `0->1`, `inter-host`.
    static func linkSelector(_ node: ConfigNode) throws(ConfigError) -> FaultPlan.LinkSelector {
        let text = try node.asString(expected: "a link such as host0->host1, or inter-host")
        if text == "inter-host" { return .allInterHost }
        let parts = text.components(separatedBy: "->").map { $0.trimmingCharacters(in: .whitespaces) }
        func host(_ s: String) -> Int? {
            let d = s.hasPrefix("host") ? String(s.dropFirst(4)) : s
            guard let n = Int(d), n >= 0, n < InputLimits.hosts.upperBound else { return nil }
            return n
        }
        guard parts.count == 2, let a = host(parts[0]), let b = host(parts[1]) else {
            throw node.error("'\(text)' is not a link; expected host<i>->host<j> (e.g. host0->host1; hostN->hostN is host N's own GPU link) or inter-host")
        }
        return .link(LinkID(from: HostID(a), to: HostID(b)))
    }
}

extension FaultPlan {
    /// The faults that exist on a cluster of `hosts` hosts (a sweep's or a method's — global runs on
    /// one host), and the fields of those that do not, so a report can say which were left out.
    public func restricted(toHosts hosts: Int) -> (plan: FaultPlan, skipped: [String]) {
        var plan = self
        var skipped: [String] = []
        plan.links = links.filter { f in
            guard case .link(let l) = f.links else { return true }
            if l.from.rawValue < hosts && l.to.rawValue < hosts { return true }
            skipped.append(f.field)
            return false
        }
        plan.stragglers = stragglers.filter { f in
            if f.host.rawValue < hosts { return true }
            skipped.append(f.field)
            return false
        }
        plan.hostLosses = hostLosses.filter { f in
            if f.host.rawValue < hosts { return true }
            skipped.append(f.field)
            return false
        }
        return (plan, skipped)
    }
}
