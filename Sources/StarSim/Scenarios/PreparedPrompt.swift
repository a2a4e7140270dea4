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
        case .raw(let context, let query, let expected):
            let split = ModelSession.SplitPrompt(context: tokenizer.encode(context), query: tokenizer.encode(query),
                                                 text: context + query)
            return PreparedPrompt(
                split: split, expected: expected.map { [$0] } ?? [],
                summary: "raw text: \(split.context.count) context + \(split.query.count) query tokens", instance: nil)
        case .tokens(let context, let query, let expected):
            let split = ModelSession.SplitPrompt(context: context, query: query, text: tokenizer.decode(context + query))
            return PreparedPrompt(
                split: split, expected: expected.map { [$0] } ?? [],
                summary: "token ids: \(context.count) context + \(query.count) query tokens", instance: nil)
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
