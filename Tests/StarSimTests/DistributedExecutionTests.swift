import Cluster
import DistributedAttention
import Foundation
import Llama
import StarSim
import Synchronization
import Testing

/// Real execution of global, Ring and Star attention on a tiny random model, against the model's own
/// single-process forward pass (`LlamaModel.forward` with `GlobalAttention`) as the reference.
@Suite struct DistributedExecutionTests {
    static let session: ModelSession = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-tiny-\(getpid()).gguf").path
        try! TinyLlama.write(config: TinyLlama.testConfig, seed: 11, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try! ModelSession(path: path)
    }()

    static func prompt(context: Int, query: Int, seed: UInt64) -> ModelSession.SplitPrompt {
        var rng = SeededGenerator(seed: seed)
        // Byte tokens only (ids 3...258): never a stop token.
        let ids = (0..<(context + query)).map { _ in Int32.random(in: 3...258, using: &rng) }
        return .init(context: Array(ids[..<context]), query: Array(ids[context...]))
    }

    /// Logits before each of `steps` greedy tokens, from one process with exact attention.
    static func reference(_ p: ModelSession.SplitPrompt, steps: Int) throws -> [[Float]] {
        var hook = GlobalAttention(config: session.model.config)
        return try greedyLogits(session, p, steps: steps, hook: &hook)
    }

    /// Logits before each of `steps` greedy tokens of `session`'s model in one process, attention by `hook`.
    static func greedyLogits<Hook: AttentionHook>(
        _ session: ModelSession, _ p: ModelSession.SplitPrompt, steps: Int, hook: inout Hook
    ) throws -> [[Float]] {
        let model = session.model
        let sequence = p.context + p.query
        var logits = try model.forward(tokens: sequence, positions: (0..<Int32(sequence.count)).map { $0 }, hook: &hook)
        var out = [logits]
        var position = Int32(sequence.count)
        while out.count < steps {
            let t = LlamaModel.argmax(logits)
            if session.stopTokens.contains(t) { break }
            logits = try model.forward(tokens: [t], positions: [position], hook: &hook)
            position += 1
            out.append(logits)
        }
        return out
    }

    static func setup(hosts: Int) throws -> ClusterSetup {
        try ClusterSetup.named(hosts: hosts, gpusPerHost: 1, device: "cpu-local", intraHostLink: "nvlink-a100",
                               interHostLink: "ib-hdr", shape: .fullyConnected)
    }

    static func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        var worst: Float = 0
        for (x, y) in zip(a, b) { for (u, v) in zip(x, y) { worst = max(worst, abs(u - v)) } }
        return worst
    }

    static func run(_ method: AttentionMethod, _ p: ModelSession.SplitPrompt, steps: Int) throws -> MethodOutcome {
        try session.execute(method, name: "\(method)", prompt: p, setup: setup(hosts: method.hosts), maxNewTokens: steps)
    }

    @Test func globalOnTheClusterEqualsTheModelsOwnForward() throws {
        let p = Self.prompt(context: 150, query: 7, seed: 1)
        let reference = try Self.reference(p, steps: 5)
        let outcome = try Self.run(.global(GlobalPlan(contextLength: 150, queryLength: 7)), p, steps: 5)
        #expect(outcome.logits.count == reference.count)
        #expect(Self.maxDifference(outcome.logits, reference) <= 1e-4)
    }

    @Test(arguments: [2, 3, 4], [RingPlan.Partition.contiguous, .zigzag, .striped])
    func ringIsExact(hosts: Int, partition: RingPlan.Partition) throws {
        let p = Self.prompt(context: 157, query: 5, seed: UInt64(hosts))
        let reference = try Self.reference(p, steps: 4)
        for decode in [RingPlan.Decode.phase2, .lastHost] {
            let plan = try RingPlan(contextLength: 157, queryLength: 5, hosts: hosts, partition: partition, decode: decode)
            let outcome = try Self.run(.ring(plan), p, steps: 4)
            #expect(outcome.logits.count == reference.count)
            let diff = Self.maxDifference(outcome.logits, reference)
            #expect(diff <= 1e-3, "ring \(partition) \(decode) on \(hosts) hosts: max |Δlogit| = \(diff)")
            #expect(outcome.generated.prefix(reference.count) == reference.map { LlamaModel.argmax($0) }[...])
        }
    }

    @Test func starWithOneBlockEqualsGlobal() throws {
        let p = Self.prompt(context: 120, query: 6, seed: 5)
        let reference = try Self.reference(p, steps: 3)
        let plan = try StarPlan(contextLength: 120, queryLength: 6, blockSize: 120, anchorSize: 120, hosts: 1)
        let outcome = try Self.run(.star(plan), p, steps: 3)
        #expect(Self.maxDifference(outcome.logits, reference) <= 1e-4)
    }

    @Test(arguments: Phase2Pattern.allCases)
    func starPhase2PatternsGiveTheSameAnswer(pattern: Phase2Pattern) throws {
        // Two patterns, same math: identical logits up to float rounding of the merge order.
        let p = Self.prompt(context: 160, query: 6, seed: 9)
        let a = try StarPlan(contextLength: 160, queryLength: 6, blockSize: 40, anchorSize: 40, hosts: 4, phase2: pattern)
        let b = try StarPlan(contextLength: 160, queryLength: 6, blockSize: 40, anchorSize: 40, hosts: 4, phase2: .gatherBroadcast)
        let x = try Self.run(.star(a), p, steps: 3), y = try Self.run(.star(b), p, steps: 3)
        #expect(Self.maxDifference(x.logits, y.logits) <= 1e-4)
        #expect(!x.logits.isEmpty)
    }

    @Test func sameScenarioSameTraceByteForByte() throws {
        let p = Self.prompt(context: 96, query: 4, seed: 2)
        let plan = try StarPlan(contextLength: 96, queryLength: 4, blockSize: 24, anchorSize: 24, hosts: 4)
        let traces = try (0..<3).map { _ in TraceWriter.chromeTraceJSON(try Self.run(.star(plan), p, steps: 3).report.log) }
        #expect(traces.allSatisfy { $0 == traces[0] })
        let ring = try RingPlan(contextLength: 96, queryLength: 4, hosts: 4, partition: .zigzag)
        let ringTraces = try (0..<3).map { _ in TraceWriter.chromeTraceJSON(try Self.run(.ring(ring), p, steps: 3).report.log) }
        #expect(ringTraces.allSatisfy { $0 == ringTraces[0] })
    }

    @Test func bytesOnTheLinksEqualTheAnalyticCount() throws {
        let p = Self.prompt(context: 128, query: 5, seed: 4)
        let methods: [AttentionMethod] = [
            .star(try StarPlan(contextLength: 128, queryLength: 5, blockSize: 32, anchorSize: 32, hosts: 4)),
            .star(try StarPlan(contextLength: 128, queryLength: 5, blockSize: 32, anchorSize: 32, hosts: 4, phase2: .allGather)),
            .star(try StarPlan(contextLength: 128, queryLength: 5, blockSize: 32, anchorSize: 32, hosts: 4, phase2: .tree)),
            .ring(try RingPlan(contextLength: 128, queryLength: 5, hosts: 4)),
            .ring(try RingPlan(contextLength: 128, queryLength: 5, hosts: 4, phase2: .tree)),
            .ring(try RingPlan(contextLength: 128, queryLength: 5, hosts: 4, partition: .zigzag)),
            .ring(try RingPlan(contextLength: 128, queryLength: 5, hosts: 4, partition: .striped)),
        ]
        for method in methods {
            let outcome = try Self.run(method, p, steps: 3)
            let sampled = outcome.generated.count
            let analytic = method.analyticTraffic(shape: Self.session.shape, sampledTokens: sampled)
            var onLinks = 0
            for record in outcome.report.log.records {
                if case .transfer(let message) = record { onLinks += message.bytes }
            }
            #expect(onLinks == analytic.total, "\(method): \(onLinks) B on links, analytic \(analytic.total) B")
            // Per host too: what each host sent equals its closed-form share.
            for h in outcome.counters.hosts {
                #expect(h.bytesSent == Phase.allCases.reduce(0) { $0 + analytic[h.host.rawValue, $1] }, "\(method) \(h.host)")
            }
        }
    }

    /// Progress during a real run reports every host, every layer of its context blocks, the phases
    /// in order, a share of work that only grows and ends at 1 — and does not change the answer.
    @Test func bitwiseProgressCoversHostsLayersAndPhases() throws {
        let p = Self.prompt(context: 128, query: 5, seed: 6)
        let steps = 4
        let methods: [AttentionMethod] = [
            .star(try StarPlan(contextLength: 128, queryLength: 5, blockSize: 32, anchorSize: 32, hosts: 4)),
            .ring(try RingPlan(contextLength: 128, queryLength: 5, hosts: 4, partition: .zigzag)),
        ]
        let layers = Self.session.model.config.layerCount
        for method in methods {
            let seen = Mutex<[ExecutionProgress]>([])
            let outcome = try Self.session.execute(
                method, name: "m", prompt: p, setup: Self.setup(hosts: 4), maxNewTokens: steps,
                progress: { report in seen.withLock { $0.append(report) } })
            let reports = seen.withLock { $0 }
            let plain = try Self.run(method, p, steps: steps)
            #expect(outcome.logits == plain.logits && outcome.generated == plain.generated)
            #expect(!reports.isEmpty)
            #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.fraction <= $1.fraction }, "\(method): share went down")
            if outcome.generated.count == steps {
                #expect(abs(reports.last!.fraction - 1) < 1e-9, "\(method): ends at \(reports.last!.fraction)")
            }
            #expect(reports.allSatisfy { $0.hosts == 4 && $0.layers == layers && $0.method == "m" })
            for host in 0..<4 {
                let context = Set(reports.filter { $0.host == host && $0.phase == .contextEncoding }.compactMap(\.layer))
                #expect(context == Set(0..<layers), "\(method) host \(host): context layers \(context.sorted())")
            }
            let phases = reports.map(\.phase.rawValue)
            #expect(phases.first == Phase.contextEncoding.rawValue && phases.contains(Phase.generation.rawValue))
            #expect(reports.last!.generated == outcome.generated.count)
            #expect(reports.last!.line.contains("host "))
        }
    }

    @Test func progressLinesEveryTenPercent() {
        let lines = Mutex<[String]>([])
        let printer = ProgressLines(interval: 1_000, minimumGap: 0) { line in lines.withLock { $0.append(line) } }
        for i in 0...100 {
            printer.report(ExecutionProgress(
                method: "star", host: i % 4, hosts: 4, phase: i < 90 ? .contextEncoding : .generation,
                segment: "block \(i % 4)", layer: i % 30, layers: 30, generated: max(0, i - 90), maxNewTokens: 10,
                fraction: Double(i) / 100, elapsedSeconds: Double(i)))
        }
        let got = lines.withLock { $0 }
        #expect(got.count == 10, "\(got)")
        #expect(got.first == "  star  10% · context · host 3/4 · block 2 · layer 11/30 · 0:10 elapsed, ETA 1:30")
        #expect(got.last == "  star 100% · generation · host 1/4 · block 0 · layer 11/30 · 10/10 tokens · 1:40 elapsed")
        #expect(ExecutionProgress.clock(75) == "1:15" && ExecutionProgress.clock(3700) == "1:01:40")
    }
}
