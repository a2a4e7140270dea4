import DistributedAttention
import Foundation

/// A prompt ready to run: tokens split into context and query, and what a right answer contains.
public struct PreparedPrompt: Sendable {
    public var split: ModelSession.SplitPrompt
    /// Strings the answer must contain (empty: not checked).
    public var expected: [String]
    /// One line describing the prompt, for reports.
    public var summary: String
    /// The task instance, for RULER scoring.
    public var instance: EvaluationTask.Instance?
}

extension ModelSession {
    /// Builds the prompt of a scenario (or of one evaluation sample) with this model's tokenizer.
    public func prepare(_ prompt: Scenario.Prompt, seed: UInt64, format: PromptFormat = .completion) -> PreparedPrompt {
        switch prompt {
        case .passkey(let tokens, let depth, let key):
            return prepare(task: EvaluationTask(kind: .passkey, contextTokens: tokens, depth: depth, seed: seed, passkey: key),
                           format: format)
        case .task(let name, let tokens):
            return prepare(task: EvaluationTask(kind: EvaluationTask.Kind(rawValue: name)!, contextTokens: tokens, seed: seed),
                           format: format)
        case .text(let context, let question, let expected):
            let split = splitPrompt(document: context, question: question, answerPrefix: "", format: format)
            return PreparedPrompt(
                split: split, expected: expected.map { [$0] } ?? [],
                summary: "text: \(split.context.count) context + \(split.query.count) query tokens", instance: nil)
        }
    }

    /// Builds one instance of a synthetic task, sized with this model's tokenizer.
    public func prepare(task: EvaluationTask, format: PromptFormat = .completion) -> PreparedPrompt {
        let instance = task.make { self.tokenizer.encode($0, parseSpecialTokens: false).count }
        let split = splitPrompt(document: instance.context, question: instance.question, answerPrefix: instance.answerPrefix,
                                format: format)
        var what = "\(task.kind.rawValue)"
        if task.kind == .passkey { what += " at \(Int((task.depth * 100).rounded()))% depth" }
        return PreparedPrompt(
            split: split, expected: instance.expected,
            summary: "\(what): \(split.context.count) context + \(split.query.count) query tokens", instance: instance)
    }
}

extension Scenario.Method {
    /// The algorithm plan for this method on `hosts` hosts and a prompt of `contextLength` +
    /// `queryLength` tokens. Defaults: Star's block = context split evenly over the hosts, anchor =
    /// block; the query host is the host of the last block.
    ///
    /// - Parameter field: how the method is named in messages, e.g. `methods[1]`.
    /// - Throws: `StarSimError` naming the scenario field, its value and what was expected.
    public func plan(contextLength: Int, queryLength: Int, hosts: Int, field: String) throws -> AttentionMethod {
        do {
            switch self {
            case .global:
                return .global(try GlobalPlan(contextLength: contextLength, queryLength: queryLength))
            case .star(let o):
                let block = o.blockSize ?? (contextLength + hosts - 1) / hosts
                let anchor = o.anchorSize ?? block
                if let q = o.queryHost, q >= hosts {
                    throw StarSimError.invalid("\(field).star.query_host", "host \(q) does not exist; the cluster has hosts 0...\(hosts - 1)")
                }
                return .star(try StarPlan(
                    contextLength: contextLength, queryLength: queryLength, blockSize: block, anchorSize: anchor,
                    anchorSource: o.anchorSource, hosts: hosts, queryHost: o.queryHost, phase2: o.phase2))
            case .ring(let o):
                return .ring(try RingPlan(
                    contextLength: contextLength, queryLength: queryLength, hosts: hosts,
                    partition: o.partition, decode: o.decode))
            }
        } catch let error as PlanError {
            let names = ["blockSize": "block", "anchorSize": "anchor", "queryHost": "query_host",
                         "hosts": "cluster.hosts", "contextLength": "prompt (context tokens)",
                         "queryLength": "prompt (query tokens)"]
            let key = error.field.split(separator: ".").last.map(String.init) ?? error.field
            let scenarioField = names[key].map { $0.hasPrefix("cluster") || $0.hasPrefix("prompt") ? $0 : "\(field).\(name).\($0)" } ?? field
            throw StarSimError.invalid(scenarioField, error.description)
        }
    }
}
