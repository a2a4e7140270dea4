import Cluster
import DistributedAttention
import Foundation
import Projection
import Synchronization

/// A cluster as a run uses it: the topology description plus how each host's GPUs combine and the
/// device's efficiencies for the cost model.
public struct ClusterSetup: Sendable {
    public var topology: TopologyDescription
    public var device: DeviceSpec
    public var combine: ParallelCombine
    public var timing: SimulationOptions.Timing
    public var pacing: SimulationOptions.Pacing
    public var granularity: Granularity
    /// Slow or failed links, stragglers, lost hosts during the run (`Docs/Faults.md`).
    public var faults: FaultPlan = .none

    public init(topology: TopologyDescription, device: DeviceSpec, combine: ParallelCombine = .pipeline,
                timing: SimulationOptions.Timing = .modeled, pacing: SimulationOptions.Pacing = .asFastAsPossible,
                granularity: Granularity = .perLayer) {
        self.topology = topology
        self.device = device
        self.combine = combine
        self.timing = timing
        self.pacing = pacing
        self.granularity = granularity
    }

    /// Resolves profile names (`ProfileCatalog`) into a setup.
    ///
    /// - Parameter errorPrefix: when set, an unknown or invalid profile throws
    ///   `StarSimError.invalid("<errorPrefix><field>", …)` naming the scenario field (`device`,
    ///   `intra_host_link`, `inter_host_link`), e.g. with `"default.yaml: cluster."`; otherwise the
    ///   catalog's own error (which lists the known names) is thrown as is.
    public static func named(hosts: Int, gpusPerHost: Int, device: String, intraHostLink: String,
                             interHostLink: String, shape: TopologyShape, combine: ParallelCombine = .pipeline,
                             catalog: ProfileCatalog = ProfileCatalog(), errorPrefix: String? = nil) throws -> ClusterSetup {
        func resolve<T>(_ field: String, _ body: () throws -> T) throws -> T {
            do { return try body() } catch {
                guard let errorPrefix else { throw error }
                throw StarSimError.invalid("\(errorPrefix)\(field)", "\(error)")
            }
        }
        let d = try resolve("device") { try catalog.device(named: device) }
        let intra = try resolve("intra_host_link") { try catalog.link(named: intraHostLink) }
        let inter = try resolve("inter_host_link") { try catalog.link(named: interHostLink) }
        return ClusterSetup(
            topology: TopologyDescription(hosts: hosts, gpusPerHost: gpusPerHost, device: d.profile,
                                          intraHostLink: intra.profile, interHostLink: inter.profile, shape: shape),
            device: d, combine: combine)
    }

    /// The cost model of one host of this cluster for a model shape.
    public func costModel(shape: ModelShape) -> CostModel {
        CostModel(device: topology.device, efficiency: device.efficiency, gpusPerHost: topology.gpusPerHost,
                  combine: combine, shape: shape, ringSteps: device.ringSteps, framework: device.framework.value)
    }
}

/// What one method did on the simulated cluster.
public struct MethodOutcome: Sendable {
    /// Display name (`global`, `star`, `ring`, `ring-zigzag`, …).
    public var name: String
    public var method: AttentionMethod
    public var topology: Topology
    public var report: RunReport
    /// Tokens produced by the query host (the last may be the stop token).
    public var generated: [Int32]
    /// Wall seconds the whole simulated run took on this machine (real math included).
    public var wallSeconds: Double
    /// Real runs: the query host's logits `[vocab]` before each sampled token (empty for projections).
    public var logits: [[Float]] = []
    /// Real runs with a probe point: the query host's phase-2 merge at that layer and head.
    public var mergeProbe: MergeProbe?

    /// Instants at which each `sample` step of the query host ended, in order.
    public var sampleEnds: [SimInstant]
    /// The shapes of the work every host charged (projections; nil for real runs).
    public var opShapes: OpShapes?

    /// Bytes, busy time, utilisation per host, link and phase (streamed by the scheduler).
    public var counters: RunCounters { report.counters }
    public var criticalPath: CriticalPath { CriticalPath(log: report.log) }
}

/// Runs a method's per-host programs through `AttentionHostShell`s on a `Simulation`.
/// The same function serves real execution (`HostTensors` backends) and projections
/// (`ModeledBackend`): same programs, same scheduler, same cost model.
enum ClusterExecution {
    /// Runs `method` with one backend per host from `makeBackend(host)`; a spare that replaces a
    /// lost host (`setup.faults`) gets a fresh backend and a fresh program. A backend starts with its
    /// host's cached K,V (``AttentionMethod/cachedRuns(host:)``) — a spare too, as if restored from a
    /// persistent KV store.
    /// - Returns: the outcome and the backends the hosts ended with (the spares' where hosts were lost).
    static func run<Backend: OpBackend>(
        _ method: AttentionMethod, name: String, setup: ClusterSetup, shape: ModelShape, weightBytes: Int64,
        stopTokens: Set<Int32>, maxNewTokens: Int, recordsLog: Bool = true, progress: ProgressMeter? = nil,
        simulationProgress: (@Sendable (Int, SimInstant) -> Void)? = nil, recordShapes: Bool = false,
        makeBackend: @escaping (Int) -> Backend
    ) throws -> (outcome: MethodOutcome, backends: [Backend]) {
        let shapes = Mutex(OpShapes())
        var description = setup.topology
        description.hosts = method.hosts
        let topology = try Topology(description)
        try method.check(shape: shape)
        let programs = method.programs(shape: shape, granularity: setup.granularity)
        var backends = (0..<method.hosts).map(makeBackend)
        func shell(_ host: Int) -> AttentionHostShell<Backend> {
            let plain = setup.opCost(shape: shape, method: method, host: host)
            let cost: @Sendable (Op) -> SimDuration
            if recordShapes {
                cost = { op in
                    shapes.withLock { $0.note(op) }
                    return plain(op)
                }
            } else {
                cost = plain
            }
            return AttentionHostShell(
                program: programs[host], backend: backends[host], shape: shape, weightBytes: weightBytes,
                stopTokens: stopTokens, maxNewTokens: maxNewTokens, cachedRuns: method.cachedRuns(host: host),
                progress: progress, cost: cost)
        }
        var shells = (0..<method.hosts).map(shell)
        var options = SimulationOptions(pacing: setup.pacing, timing: setup.timing, recordsLog: recordsLog,
                                        progress: simulationProgress)
        options.faults = setup.faults
        let simulation = Simulation(topology: topology, options: options)
        let start = DispatchTime.now().uptimeNanoseconds
        let report = try simulation.run(shells: shells.map { $0 as any HostShell<AttentionHostShell<Backend>.Payload> }) { id in
            // A spare: the host's program from its start, on fresh tensors.
            backends[id.rawValue] = makeBackend(id.rawValue)
            shells[id.rawValue] = shell(id.rawValue)
            return shells[id.rawValue]
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var outcome = MethodOutcome(
            name: name, method: method, topology: topology, report: report,
            generated: shells[method.queryHost].generated, wallSeconds: wall,
            sampleEnds: shells[method.queryHost].sampleEnds)
        if recordShapes { outcome.opShapes = shapes.withLock { $0 } }
        return (outcome, backends)
    }
}
