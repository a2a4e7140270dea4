import Cluster
import DistributedAttention
import Foundation
import Synchronization

/// Where a running method is: the compute step a host just finished, and how far the whole run
/// is, measured in modeled compute time (so a 30-layer block counts 30× a one-token decode layer).
public struct ExecutionProgress: Sendable, Hashable {
    /// Method name as the scenario gives it (`star`, `ring`, …).
    public var method: String
    /// Host (0-based) that finished the step, of `hosts`.
    public var host: Int
    public var hosts: Int
    public var phase: Phase
    /// What the step worked on: `block 2`, `anchor+block 3`, `shard`, `query`, `token 5`.
    public var segment: String
    /// Decoder layer (0-based) of the step, of `layers`; nil for embed, logits and sampling.
    public var layer: Int?
    public var layers: Int
    /// Tokens generated so far (on the query host), of at most `maxNewTokens`.
    public var generated: Int
    public var maxNewTokens: Int
    /// Finished share of the run's modeled compute, 0…1 (from a modeled dry run of the same
    /// programs; generation that stops early at end of turn jumps to 1).
    public var fraction: Double
    /// Wall seconds since the run started.
    public var elapsedSeconds: Double

    public init(method: String, host: Int, hosts: Int, phase: Phase, segment: String, layer: Int?, layers: Int,
                generated: Int, maxNewTokens: Int, fraction: Double, elapsedSeconds: Double) {
        self.method = method
        self.host = host
        self.hosts = hosts
        self.phase = phase
        self.segment = segment
        self.layer = layer
        self.layers = layers
        self.generated = generated
        self.maxNewTokens = maxNewTokens
        self.fraction = fraction
        self.elapsedSeconds = elapsedSeconds
    }

    /// Estimated wall seconds left, from the rate so far; nil before 2% is done.
    public var remainingSeconds: Double? {
        fraction >= 0.02 && fraction < 1 ? elapsedSeconds * (1 - fraction) / fraction : nil
    }

    /// One line for a terminal, e.g.
    /// `star  47% · context · host 3/4 · anchor+block 2 · layer 17/30 · 0:12 elapsed, ETA 0:14`.
    public var line: String {
        var parts = ["\(method) \(String(format: "%3.0f", fraction * 100))%", phase.description,
                     "host \(host + 1)/\(hosts)", segment]
        if let layer { parts.append("layer \(layer + 1)/\(layers)") }
        if phase == .generation { parts.append("\(generated)/\(maxNewTokens) tokens") }
        var time = "\(Self.clock(elapsedSeconds)) elapsed"
        if let r = remainingSeconds { time += ", ETA \(Self.clock(r))" }
        parts.append(time)
        return parts.joined(separator: " · ")
    }

    /// Wall time as `m:ss`, or `h:mm:ss` from an hour: `75` → `1:15`, `3700` → `1:01:40`.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// Short name of a segment for progress lines.
    static func name(of segment: Segment) -> String {
        switch segment.role {
        case .block(let i): return "block \(i)"
        case .anchoredBlock(let i): return "anchor+block \(i)"
        case .shard: return "shard"
        case .query: return "query"
        case .generated(let n): return "token \(n + 1)"
        }
    }

    /// Layer and segment an op works on (nil segment for `sample`).
    static func position(of op: Op) -> (layer: Int?, segment: Segment?) {
        switch op {
        case .embed(let s), .logits(let s): return (nil, s)
        case .layerInputs(let l, let s, _), .attend(let l, let s, _, _, _), .merge(let l, let s, _),
             .mergeHeads(let l, let s, _, _, _), .attendHeads(let l, let s, _, _, _, _, _), .compress(let l, let s, _, _, _, _, _),
             .finishLayer(let l, let s):
            return (l, s)
        case .encode(let s, _, _, _, _): return (nil, s)
        case .sample: return (nil, nil)
        }
    }
}

/// Accumulates finished compute steps of one run and reports `ExecutionProgress` to an observer.
///
/// The shells call it from the simulation's loop thread; the state sits behind a `Mutex` so the
/// meter is `Sendable` without assumptions about which thread that is.
final class ProgressMeter: Sendable {
    private struct State {
        var done: Double = 0
        var generated = 0
    }

    private let state = Mutex(State())
    private let started = DispatchTime.now().uptimeNanoseconds
    /// Total modeled compute of the run (seconds), 0 when unknown (dry run).
    let total: Double
    let method: String
    let hosts: Int
    let layers: Int
    let maxNewTokens: Int
    private let observer: (@Sendable (ExecutionProgress) -> Void)?

    init(method: String, hosts: Int, layers: Int, maxNewTokens: Int, total: Double,
         observer: (@Sendable (ExecutionProgress) -> Void)?) {
        self.method = method
        self.hosts = hosts
        self.layers = layers
        self.maxNewTokens = maxNewTokens
        self.total = total
        self.observer = observer
    }

    /// Modeled compute seconds finished so far.
    var finishedSeconds: Double { state.withLock { $0.done } }

    /// Host `host` finished `op`, which was charged `cost`.
    func finished(_ op: Op, host: Int, cost: SimDuration) {
        let (done, generated) = state.withLock { s -> (Double, Int) in
            s.done += cost.seconds
            if case .sample = op { s.generated += 1 }
            return (s.done, s.generated)
        }
        guard let observer else { return }
        let (layer, segment) = ExecutionProgress.position(of: op)
        let phase = segment?.phase ?? .generation
        observer(ExecutionProgress(
            method: method, host: host, hosts: hosts, phase: phase,
            segment: segment.map(ExecutionProgress.name(of:)) ?? "sample", layer: layer, layers: layers,
            generated: generated, maxNewTokens: maxNewTokens,
            fraction: total > 0 ? min(1, done / total) : 0,
            elapsedSeconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9))
    }
}

/// Turns a stream of `ExecutionProgress` into a few lines: one whenever another 10% is done or
/// `interval` wall seconds passed since the last line, never more than one per `minimumGap` seconds.
public final class ProgressLines: Sendable {
    private struct State {
        var lastDecile = 0
        var lastLine = DispatchTime.now().uptimeNanoseconds
    }

    private let state = Mutex(State())
    private let interval: Double
    private let minimumGap: Double
    private let emit: @Sendable (String) -> Void

    /// - Parameters:
    ///   - interval: wall seconds after which a line is printed even without another 10%.
    ///   - minimumGap: wall seconds between two lines at least.
    ///   - emit: receives each line (e.g. prints it to stderr).
    public init(interval: Double = 5, minimumGap: Double = 1, emit: @escaping @Sendable (String) -> Void) {
        self.interval = interval
        self.minimumGap = minimumGap
        self.emit = emit
    }

    /// Feed one progress report; emits a line when one is due.
    public func report(_ p: ExecutionProgress) {
        let now = DispatchTime.now().uptimeNanoseconds
        let due = state.withLock { s -> Bool in
            let decile = Int(p.fraction * 10)
            let since = Double(now - s.lastLine) / 1e9
            guard since >= minimumGap && (decile > s.lastDecile || since >= interval) else { return false }
            s.lastDecile = max(s.lastDecile, decile)
            s.lastLine = now
            return true
        }
        if due { emit("  " + p.line) }
    }
}
