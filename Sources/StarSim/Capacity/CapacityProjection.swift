import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// Runs projections, one or many, serially or on all cores.
public enum CapacityProjection {
    /// Projects one configuration. Never throws: an OOM or invalid plan is a result with that status.
    /// - Parameter trace: when set, writes the Chrome trace of the run into this directory under `traceName`.
    /// - Parameter running: called every 200,000 simulated events with (events, simulated time), for
    ///   progress on long configurations.
    /// - Parameter timeline: keep the run's records and lay them out within this budget
    ///   (``ProjectionResult/timeline``); nil: neither.
    public static func project(
        _ config: ProjectionConfig, trace: (directory: OutputDirectory, name: String)? = nil,
        running: (@Sendable (Int, SimInstant) -> Void)? = nil, timeline: TimelineLayout.Budget? = nil
    ) -> ProjectionResult {
        var result = ProjectionResult(config: config, status: .ok)
        let method: AttentionMethod
        let setup: ClusterSetup
        do {
            method = try config.attentionMethod()
            setup = try config.clusterSetup()
        } catch {
            result.status = .failed(error.description)
            return result
        }
        result.hostCapacity = Int64(config.gpusPerHost) * setup.topology.device.memoryCapacityBytes
        do {
            let outcome = try ProjectedExecution.run(
                model: config.model, method: method, name: config.method.rawValue, setup: setup,
                generateTokens: max(config.generateTokens, 1), recordsLog: trace != nil || timeline != nil, progress: running)
            result.record(outcome, timeline: timeline)
            result.coverage = Coverage(shapes: outcome.opShapes ?? OpShapes(), model: config.model.shape, device: setup.device)
            if let faults = config.faults {
                var faultedSetup = setup
                let (plan, skipped) = faults.restricted(toHosts: config.effectiveHosts)
                faultedSetup.faults = plan
                var figures = FaultedFigures()
                figures.skippedFaults = skipped
                do {
                    // The log is kept for the critical path (one run at a time per configuration).
                    let f = try ProjectedExecution.run(
                        model: config.model, method: method, name: config.method.rawValue, setup: faultedSetup,
                        generateTokens: max(config.generateTokens, 1), recordsLog: true, progress: running)
                    figures.timeToFirstToken = f.timeToFirstToken.map(\.seconds)
                    figures.timePerOutputToken = f.timePerOutputToken.map(\.seconds)
                    figures.totalTime = f.sampleEnds.last.map { ($0 - .zero).seconds }
                    figures.bytesMoved = f.bytesMoved
                    let o = f.report.faults
                    figures.bytesResent = o.recoveries.reduce(0) { $0 + $1.bytesResent }
                    figures.reroutedMessages = o.reroutedMessages
                    figures.waitingMessages = o.waitingMessages
                    figures.restartedHosts = o.recoveries.map(\.restartedHosts.count)
                    figures.workLostSeconds = o.recoveries.reduce(0) { $0 + $1.workLost.seconds }
                    figures.criticalResource = f.criticalPath.heaviestResource?.name
                    figures.notHappened = o.notHappened.map(\.description)
                    if let trace {
                        let name = (trace.name as NSString).deletingPathExtension + "-faults.json"
                        try trace.directory.write(TraceWriter.chromeTraceJSON(f.report.log), name: name)
                    }
                } catch let error as ClusterError {
                    figures.error = error.description
                }
                result.faulted = figures
            }
            if let random = config.randomFaults {
                result.faultTrials = try trials(random, config: config, method: method, setup: setup,
                                                 horizon: outcome.report.finish)
            }
            if let trace { try trace.directory.write(TraceWriter.chromeTraceJSON(outcome.report.log), name: trace.name) }
        } catch let error as ClusterError where error.code == .outOfMemory {
            result.status = .outOfMemory(error.description)
        } catch {
            result.status = .failed("\(error)")
        }
        return result
    }

    /// Runs the random-fault trials of `config` (each on top of its fixed faults) and summarises them.
    static func trials(_ random: RandomFaults, config: ProjectionConfig, method: AttentionMethod, setup: ClusterSetup,
                       horizon: SimInstant) throws -> FaultTrials {
        let topology = try Topology(setup.topology)
        let fixed = config.faults.map { $0.restricted(toHosts: config.effectiveHosts).plan } ?? .none
        var ttft: [Double] = [], total: [Double] = []
        var withFaults = 0
        for trial in 0..<random.trials {
            var s = setup
            s.faults = random.sample(trial: trial, topology: topology, horizon: horizon, fixed: fixed)
            if s.faults.links.count > fixed.links.count || s.faults.hostLosses.count > fixed.hostLosses.count { withFaults += 1 }
            let o = try ProjectedExecution.run(model: config.model, method: method, name: config.method.rawValue,
                                               setup: s, generateTokens: max(config.generateTokens, 1), recordsLog: false)
            ttft.append(o.timeToFirstToken?.seconds ?? .nan)
            total.append(o.report.finish.seconds)
        }
        return FaultTrials(ttft: ttft, total: total, withFaults: withFaults)
    }

    /// Projects every configuration; with `parallel`, independent configurations run concurrently on
    /// all cores (`DispatchQueue.concurrentPerform`). Results are in input order and identical to a
    /// serial run (each projection is deterministic and shares nothing).
    /// - Parameter traceIndices: the index each configuration's trace is named after (default: its
    ///   position in `configs`; a sweep shard passes the indices in the whole sweep).
    /// - Parameter progress: called (from any thread, serialised) with (done, total) after each one.
    /// - Parameter running: called from the configuration's thread with (index, events, simulated time)
    ///   every 200,000 events of a long configuration.
    /// - Parameter completed: called from the configuration's thread with (index, result) as each
    ///   one finishes (a sweep shard appends its row there).
    /// - Parameter timelines: lay out each run for the HTML report (``ProjectionResult/timeline``),
    ///   each within its share of one report (``TimelineLayout/Budget/share(of:)``).
    public static func sweep(
        _ configs: [ProjectionConfig], parallel: Bool = true, traceDirectory: OutputDirectory? = nil,
        traceIndices: [Int]? = nil, timelines: Bool = false,
        progress: (@Sendable (Int, Int) -> Void)? = nil, running: (@Sendable (Int, Int, SimInstant) -> Void)? = nil,
        completed: (@Sendable (Int, ProjectionResult) -> Void)? = nil
    ) -> [ProjectionResult] {
        let box = ResultBox(count: configs.count)
        let work: @Sendable (Int) -> Void = { i in
            let trace = traceDirectory.map { ($0, traceName(configs[i], index: traceIndices?[i] ?? i)) }
            var onEvents: (@Sendable (Int, SimInstant) -> Void)?
            if let running { onEvents = { events, time in running(i, events, time) } }
            let r = project(configs[i], trace: trace, running: onEvents, timeline: timelines ? .share(of: configs.count) : nil)
            completed?(i, r)
            let done = box.store(r, at: i)
            progress?(done, configs.count)
        }
        if parallel && configs.count > 1 {
            DispatchQueue.concurrentPerform(iterations: configs.count, execute: work)
        } else {
            for i in configs.indices { work(i) }
        }
        return box.results()
    }

    /// File name of a configuration's trace: `003-star-llama-3.1-8b-128K-4x2.json`.
    public static func traceName(_ c: ProjectionConfig, index: Int) -> String {
        let safeModel = c.model.name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        return String(format: "%03d", index) + "-\(c.method.rawValue)-\(String(safeModel))-"
            + "\(TokenCount.format(c.contextLength))-\(c.effectiveHosts)x\(c.gpusPerHost).json"
    }
}

/// Collects results from concurrent workers.
/// `@unchecked Sendable`: every access to `slots` and `done` is under `lock`.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [ProjectionResult?]
    private var done = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ r: ProjectionResult, at i: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        slots[i] = r
        done += 1
        return done
    }

    func results() -> [ProjectionResult] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
