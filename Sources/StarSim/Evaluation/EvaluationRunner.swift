import Cluster
import DistributedAttention
import Foundation

/// One answered sample: a method's output on one prompt and its RULER score.
public struct EvaluationResult: Sendable, Hashable, Codable {
    public var task: String
    /// Nominal context length (the suite's value, e.g. 2048).
    public var context: Int
    /// Tokens actually in the context and query of the prompt.
    public var contextTokens: Int
    public var queryTokens: Int
    public var method: EvaluationMethod
    /// Star: block and anchor tokens actually used (from the plan); nil for other methods.
    public var blockTokens: Int?
    public var anchorTokens: Int?
    /// 0-based sample index and the task seed it used.
    public var sample: Int
    public var seed: UInt64
    /// Passkey: relative depth (0…1) of the key in the haystack; nil for other tasks.
    public var depth: Double?
    /// FNV-1a of the context and query token ids: equal for every method of a sample.
    public var promptFingerprint: UInt64
    /// The decoded answer (stop token removed).
    public var output: String
    public var expected: [String]
    /// RULER `string_match_all`, 0…1.
    public var score: Double
    /// Wall seconds of this run on this machine.
    public var seconds: Double

    public init(task: String, context: Int, contextTokens: Int, queryTokens: Int, method: EvaluationMethod,
                blockTokens: Int? = nil, anchorTokens: Int? = nil, sample: Int, seed: UInt64, depth: Double? = nil,
                promptFingerprint: UInt64 = 0, output: String = "", expected: [String] = [], score: Double,
                seconds: Double = 0) {
        self.task = task
        self.context = context
        self.contextTokens = contextTokens
        self.queryTokens = queryTokens
        self.method = method
        self.blockTokens = blockTokens
        self.anchorTokens = anchorTokens
        self.sample = sample
        self.seed = seed
        self.depth = depth
        self.promptFingerprint = promptFingerprint
        self.output = output
        self.expected = expected
        self.score = score
        self.seconds = seconds
    }
}

/// Where a running suite is, for progress lines on stderr.
public struct EvaluationProgress: Sendable {
    /// Runs finished so far (including this one) and in total.
    public var done: Int
    public var total: Int
    public var result: EvaluationResult
    public var samples: Int
    /// Wall seconds since the suite started, and the estimate of what is left.
    public var elapsed: Double
    public var remaining: Double

    /// `[ 3/24] passkey 2K sample 1/3 (depth 50%) star: 1.00 "12345" 14.2 s | elapsed 0:41, ETA 4:53`
    public var line: String {
        let r = result
        let width = String(total).count
        let n = String(repeating: " ", count: max(0, width - String(done).count)) + String(done)
        let answer = r.output.replacingOccurrences(of: "\n", with: " ")
        let shown = answer.count > 40 ? String(answer.prefix(40)) + "…" : answer
        let depth = r.depth.map { String(format: " (depth %.0f%%)", $0 * 100) } ?? ""
        return "[\(n)/\(total)] \(r.task) \(EvaluationSuite.contextLabel(r.context)) sample \(r.sample + 1)/\(samples)\(depth) "
            + "\(r.method.label): \(String(format: "%.2f", r.score)) \"\(shown)\" \(String(format: "%.1f", r.seconds)) s"
            + " | elapsed \(ExecutionProgress.clock(elapsed)), ETA \(ExecutionProgress.clock(remaining))"
    }
}

extension EvaluationSuite {
    /// Runs every (task, context, sample) prompt through every method of its part, for real.
    ///
    /// The prompt of a sample is prepared once and given to every method unchanged. Sample `i`
    /// uses task seed `seed + i` and passkey depth `depth(sample: i)`.
    /// Without `answerPrefix` the query is the question and the assistant header only (same
    /// context tokens). Contexts are sized to the nominal length, or less when the nominal length plus a query
    /// allowance (160 tokens) and the answer would not fit the model's context.
    ///
    /// - Parameters:
    ///   - setup: the cluster for a method on `hosts` hosts (device and links only shape simulated
    ///     time, not the answer).
    ///   - progress: called after every run (on the calling thread).
    /// - Returns: results ordered by part, task, context, sample, method.
    /// - Throws: `StarSimError` naming the method and the field when a plan cannot be built for a
    ///   prompt (e.g. hosts > blocks after tokenization), or the model's error.
    public func run(session: ModelSession, setup: (Int) throws -> ClusterSetup,
                    progress: (EvaluationProgress) -> Void = { _ in }) throws -> [EvaluationResult] {
        let modelContext = session.model.config.contextLength
        let start = DispatchTime.now().uptimeNanoseconds
        var results: [EvaluationResult] = []
        let total = runCount
        // ETA weights: a run costs roughly its context length (prefill-dominated).
        let totalWeight = parts.reduce(0.0) { $0 + Double($1.tasks.count * $1.methods.count * $1.contexts.reduce(0, +)) } * Double(samples)
        var doneWeight = 0.0
        for part in parts {
            for task in part.tasks {
                let generate = maxNewTokens(for: task)
                for context in part.contexts {
                    let target = min(context, modelContext - generate - 160)
                    for sample in 0..<samples {
                        let seed = self.seed &+ UInt64(sample)
                        let depth = self.depth(sample: sample)
                        let prompt = session.prepare(task: EvaluationTask(kind: task, contextTokens: target, depth: depth, seed: seed))
                        var split = prompt.split
                        if !answerPrefix, let instance = prompt.instance {
                            split = session.splitPrompt(document: instance.context, question: instance.question, answerPrefix: "")
                        }
                        let fingerprint = Self.fingerprint(split.context + [-1] + split.query)
                        for (m, method) in part.methods.enumerated() {
                            let plan = try method.scenarioMethod.plan(
                                contextLength: split.context.count, queryLength: split.query.count,
                                hosts: method.hosts, field: "methods[\(m)] (\(method.label))", shape: session.shape)
                            let runStart = DispatchTime.now().uptimeNanoseconds
                            let outcome = try session.execute(
                                plan, name: method.label, prompt: split, setup: setup(method.hosts), maxNewTokens: generate)
                            var ids = outcome.generated
                            while let last = ids.last, session.stopTokens.contains(last) { ids.removeLast() }
                            let output = session.tokenizer.decode(ids)
                            let now = DispatchTime.now().uptimeNanoseconds
                            var block: Int?, anchor: Int?
                            if case .star(let p) = plan { block = p.blockSize; anchor = p.anchorSize }
                            if case .apb(let p) = plan { block = p.star.blockSize; anchor = p.anchorSize }
                            let result = EvaluationResult(
                                task: task.rawValue, context: context, contextTokens: split.context.count,
                                queryTokens: split.query.count, method: method, blockTokens: block, anchorTokens: anchor,
                                sample: sample, seed: seed, depth: task == .passkey ? depth : nil,
                                promptFingerprint: fingerprint, output: output,
                                expected: prompt.expected, score: prompt.instance?.score(output) ?? 0,
                                seconds: Double(now - runStart) / 1e9)
                            results.append(result)
                            doneWeight += Double(context)
                            let elapsed = Double(now - start) / 1e9
                            progress(EvaluationProgress(
                                done: results.count, total: total, result: result, samples: samples, elapsed: elapsed,
                                remaining: elapsed / doneWeight * max(0, totalWeight - doneWeight)))
                        }
                    }
                }
            }
        }
        return results
    }

    /// FNV-1a over token ids (stable across runs and machines).
    public static func fingerprint(_ ids: [Int32]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for id in ids {
            for shift in stride(from: 0, to: 32, by: 8) {
                h ^= UInt64(UInt32(bitPattern: id) >> UInt32(shift) & 0xff)
                h = h &* 0x0000_0100_0000_01b3
            }
        }
        return h
    }
}
