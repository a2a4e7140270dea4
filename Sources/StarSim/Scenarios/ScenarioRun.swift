import Cluster
import DistributedAttention
import Foundation
import Projection

/// Executes a scenario: prepares its prompt with the real tokenizer, runs every method for real on
/// the simulated cluster, checks the answers, writes traces.
public struct ScenarioRun: Sendable {
    /// One method's result.
    public struct MethodResult: Sendable {
        public var outcome: MethodOutcome
        /// Generated text without the stop token.
        public var answer: String
        /// Fraction of expected strings found in the answer (nil when nothing is expected).
        public var score: Double?
        /// Trace file written, if any.
        public var traceFile: String?
        /// With faults: the same method without them (modeled on the same programs and costs, with
        /// as many tokens as the faulted run generated), for the with/without comparison.
        public var faultFree: MethodOutcome?
        /// Fault fields that name a host or link this method's cluster does not have (global runs on
        /// one host), so they did not apply to it.
        public var skippedFaults: [String] = []

        /// With faults: how they changed this method's run (nil without faults).
        public var faultImpact: FaultImpact? {
            faultFree.map { FaultImpact(faulted: outcome, faultFree: $0, skipped: skippedFaults) }
        }
    }

    public var scenario: Scenario
    public var prompt: PreparedPrompt
    public var modelName: String
    public var results: [MethodResult]
    /// The model's shape as the programs saw it (nil when built by hand).
    public var shape: ModelShape? = nil

    /// A scenario checked against its cluster and model, ready to run: profiles resolved, the prompt
    /// tokenized and within the model's context, and every method's plan built — so a bad method is
    /// reported before any method runs.
    public struct Prepared: Sendable {
        public var scenario: Scenario
        public var setup: ClusterSetup
        public var session: ModelSession
        public var prompt: PreparedPrompt
        /// Scenario method, its plan and the hosts it runs on, in scenario order.
        public var methods: [(method: MethodSpec, plan: AttentionMethod, hosts: Int)]
        /// Where the traces go (checked: writable, no foreign file in the way); nil = no traces.
        public var traces: OutputDirectory?
        /// Where the query host records its phase-2 merge (``MergeProbe``): the middle layer, head 0,
        /// unless set (``setProbe(layer:head:)`` checks it against the model).
        public var probe: MergeProbe.Point

        /// Moves the probe; nil keeps that coordinate. Errors name the option and the model's range.
        public mutating func setProbe(layer: Int?, head: Int?) throws(StarSimError) {
            let layers = session.model.config.layerCount, heads = session.model.config.headCount
            if let layer {
                guard (0..<layers).contains(layer) else {
                    throw .invalidValue("--narrate-layer", "\(layer)", "a layer of \(session.modelName): 0 to \(layers - 1)")
                }
                probe.layer = layer
            }
            if let head {
                guard (0..<heads).contains(head) else {
                    throw .invalidValue("--narrate-head", "\(head)", "a query head of \(session.modelName): 0 to \(heads - 1)")
                }
                probe.head = head
            }
        }

        /// Trace file names, one per entry of ``methods``: `<name>-<method>-<index>.json`, with
        /// `-<H>h` before the index when the scenario lists several cluster sizes.
        public var traceNames: [String] {
            let sizes = scenario.cluster.hostCounts.count > 1
            return methods.enumerated().map { i, m in
                "\(scenario.name)-\(m.method.name)\(sizes ? "-\(m.hosts)h" : "")-\(i).json"
            }
        }
    }

    /// Resolves profiles, loads the model, prepares the prompt and builds every method's plan.
    ///
    /// - Throws: `StarSimError` naming the file and field (`cluster.device`, `prompt`,
    ///   `methods[i]…`), or the model's loading error.
    /// - Parameter force: replace trace files even when StarSim did not write them (`--force`).
    public static func prepare(_ scenario: Scenario, force: Bool = false, progress: (String) -> Void = { _ in }) throws -> Prepared {
        let setup = try clusterSetup(scenario)
        if !scenario.faults.isEmpty {
            if scenario.timing == .measured {
                throw StarSimError.invalid("\(scenario.file): faults",
                    "faults need timing: modeled (a measured run's steps last this machine's wall time, which a simulated fault cannot slow)")
            }
            do {
                try scenario.faults.validate(against: Topology(setup.topology))
            } catch {
                throw StarSimError.invalid(scenario.file, error.description)
            }
        }
        let traces = scenario.traceDirectory.map { OutputDirectory($0, option: "\(scenario.file): trace", force: force) }
        progress("loading model \(scenario.modelFile ?? StarSimPaths.defaultModelFile)")
        let session = try ModelSession(path: scenario.modelFile)
        // A synthetic prompt longer than the model's context is refused before it is built.
        switch scenario.prompt {
        case .passkey(let tokens, _, _), .task(_, let tokens):
            guard tokens + scenario.generateTokens <= session.model.config.contextLength else {
                throw StarSimError.invalid(
                    "\(scenario.file): prompt.context_tokens",
                    "\(tokens) context tokens + \(scenario.generateTokens) generated exceed the model's context of "
                        + "\(session.model.config.contextLength) tokens")
            }
        case .tokens(let context, let query, _):
            guard context.count + query.count + scenario.generateTokens <= session.model.config.contextLength else {
                throw StarSimError.invalid(
                    "\(scenario.file): prompt", "\(context.count + query.count) token ids + \(scenario.generateTokens) generated exceed the model's context of "
                        + "\(session.model.config.contextLength) tokens")
            }
            let vocabulary = session.model.config.vocabularySize
            if let bad = (context + query).first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                throw StarSimError.invalid("\(scenario.file): prompt", "token id \(bad) is outside the model's vocabulary (0 … \(vocabulary - 1))")
            }
        case .text(let context, let question, _), .raw(let context, let question, _):
            // About 4 bytes per token: far more text than the context can hold is refused before tokenizing.
            guard context.utf8.count + question.utf8.count <= 16 * session.model.config.contextLength else {
                throw StarSimError.invalid(
                    "\(scenario.file): prompt.context", "\(context.utf8.count) bytes of text cannot fit the model's context of "
                        + "\(session.model.config.contextLength) tokens")
            }
        }
        let prompt = session.prepare(scenario.prompt, seed: scenario.seed, format: scenario.promptFormat)
        let total = prompt.split.context.count + prompt.split.query.count
        guard total + scenario.generateTokens <= session.model.config.contextLength else {
            throw StarSimError.invalid(
                "\(scenario.file): prompt",
                "\(total) prompt tokens + \(scenario.generateTokens) generated exceed the model's context of \(session.model.config.contextLength) tokens")
        }
        try session.checkMemory(tokens: total + scenario.generateTokens, field: "\(scenario.file): prompt")
        if let problem = CostModel.splitProblem(gpusPerHost: scenario.cluster.gpusPerHost, combine: setup.combine,
                                                shape: session.shape) {
            throw StarSimError.invalid("\(scenario.file): cluster.gpus_per_host", problem)
        }
        var methods: [(method: MethodSpec, plan: AttentionMethod, hosts: Int)] = []
        for (i, m) in scenario.methods.enumerated() {
            // Every cluster size of `cluster.hosts`; global runs once, on one host.
            for hosts in m == .global ? [1] : scenario.cluster.hostCounts {
                do {
                    let plan = try m.plan(contextLength: prompt.split.context.count, queryLength: prompt.split.query.count,
                                          hosts: hosts, field: "methods[\(i)]", shape: session.shape)
                    methods.append((m, plan, hosts))
                } catch {
                    let size = scenario.cluster.hostCounts.count > 1 ? " (on \(hosts) hosts)" : ""
                    throw StarSimError.invalid(scenario.file, error.description + size)
                }
            }
        }
        let prepared = Prepared(scenario: scenario, setup: setup, session: session, prompt: prompt, methods: methods, traces: traces,
                                probe: MergeProbe.Point(layer: session.model.config.layerCount / 2, head: 0))
        try traces?.check(names: prepared.traceNames)
        return prepared
    }

    /// Prepares the scenario (see `prepare`) and runs each method in scenario order.
    ///
    /// - Parameter progress: lines for stderr: loading, each method started/finished, and while a
    ///   method runs, where it is (phase, host, block, layer, share done, ETA) every 10% or 5 s.
    public static func execute(
        _ scenario: Scenario, force: Bool = false, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> ScenarioRun {
        try execute(prepare(scenario, force: force, progress: progress), progress: progress)
    }

    /// Runs each method of a prepared scenario in scenario order (see `execute(_:force:progress:)`).
    public static func execute(
        _ prepared: Prepared, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> ScenarioRun {
        let scenario = prepared.scenario
        let (setup, session, prompt) = (prepared.setup, prepared.session, prepared.prompt)
        progress("prompt: \(prompt.summary)")
        var results: [MethodResult] = []
        for (i, (m, method, hosts)) in prepared.methods.enumerated() {
            progress("running \(m.name) on \(hosts) host\(hosts == 1 ? "" : "s") (\(method))")
            var methodSetup = setup
            methodSetup.topology.hosts = hosts
            let (faults, skipped) = scenario.faults.restricted(toHosts: hosts)
            methodSetup.faults = faults
            let lines = ProgressLines(emit: progress)
            let outcome: MethodOutcome
            do {
                outcome = try session.execute(method, name: m.name, prompt: prompt.split, setup: methodSetup,
                                              maxNewTokens: scenario.generateTokens, probe: prepared.probe,
                                              progress: lines.report)
            } catch let error as ClusterError where error.code == .invalidFault {
                throw StarSimError.invalid(scenario.file, "\(error.description) (running \(m.name))")
            }
            var faultFree: MethodOutcome?
            if !scenario.faults.isEmpty {
                var clean = methodSetup
                clean.faults = .none
                faultFree = try session.modeledRun(method, name: m.name, setup: clean,
                                                   tokens: max(outcome.generated.count, 1))
            }
            let ids = outcome.generated.filter { !session.stopTokens.contains($0) }
            let answer = session.tokenizer.decode(ids)
            let score = prompt.expected.isEmpty ? nil : (prompt.instance?.score(answer)
                ?? EvaluationTask.Instance(context: "", question: "", answerPrefix: "", expected: prompt.expected).score(answer))
            var traceFile: String?
            if let traces = prepared.traces {
                traceFile = try traces.write(TraceWriter.chromeTraceJSON(outcome.report.log), name: prepared.traceNames[i])
            }
            progress("  \(m.name): done in \(String(format: "%.1f", outcome.wallSeconds)) s wall, \(outcome.report.finish) simulated")
            results.append(MethodResult(outcome: outcome, answer: answer, score: score, traceFile: traceFile,
                                        faultFree: faultFree, skippedFaults: skipped))
        }
        try Self.checkFaultsHappened(results, file: scenario.file)
        return ScenarioRun(scenario: scenario, prompt: prompt, modelName: session.modelName, results: results, shape: session.shape)
    }

    /// A fault that started after the end of every method's run it applied to is bad input: it never
    /// happened. (After some methods' end only: those runs did not see it, and the report says so.)
    static func checkFaultsHappened(_ results: [MethodResult], file: String) throws {
        let late = results.map { Dictionary($0.outcome.report.faults.notHappened.map { ($0.field, $0) }, uniquingKeysWith: { a, _ in a }) }
        let fields = Set(late.flatMap(\.keys)).sorted()
        for field in fields {
            let prefix = field.split(separator: ".").dropLast().joined(separator: ".")
            let applied = results.indices.filter { !results[$0].skippedFaults.contains(prefix) }
            guard applied.allSatisfy({ late[$0][field] != nil }) else { continue }
            let longest = applied.compactMap { late[$0][field]?.runEnded }.max() ?? .zero
            let at = late.compactMap { $0[field]?.at }.first ?? .zero
            throw StarSimError.invalid(file, "\(field): \(at) is after the end of every run it applies to (the longest ended at \(longest)); a fault must start within the run")
        }
    }

    /// The cluster of a scenario, with profile names resolved (errors name the field and list the known names).
    public static func clusterSetup(_ scenario: Scenario) throws -> ClusterSetup {
        let c = scenario.cluster
        var setup = try ClusterSetup.named(
            hosts: c.hosts, gpusPerHost: c.gpusPerHost, device: c.device, intraHostLink: c.intraHostLink,
            interHostLink: c.interHostLink, shape: c.shape == "ring" ? .ring : .fullyConnected,
            errorPrefix: "\(scenario.file): cluster.")
        setup.timing = scenario.timing == .measured ? .measured : .modeled
        return setup
    }
}

extension ModelSession {
    /// `general.name` from the GGUF, else the file name.
    public var modelName: String {
        (try? file.string("general.name")) ?? URL(fileURLWithPath: file.path).lastPathComponent
    }
}
