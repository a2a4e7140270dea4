import Foundation
import GGUF
import Llama
import Tokenizer

/// A loaded model: GGUF file, tokenizer and weights, shared read-only by every simulated host.
public final class ModelSession: Sendable {
    public let file: GGUFFile
    public let tokenizer: BPETokenizer
    public let model: LlamaModel
    /// Wall seconds spent loading (mapping, dequantizing).
    public let loadSeconds: Double

    /// Loads a Llama-family GGUF file (default: the SmolLM2 file of `StarSimPaths`).
    public init(path: String? = nil) throws {
        let path = path ?? StarSimPaths.defaultModelFile
        guard FileManager.default.fileExists(atPath: path) else {
            throw StarSimError.modelMissing(path)
        }
        let start = DispatchTime.now()
        file = try GGUFFile(path: path)
        tokenizer = try BPETokenizer(gguf: file)
        model = try LlamaModel(gguf: file)
        loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// Refuses, before anything is allocated, a run over `tokens` tokens (prompt + generated) whose
    /// working memory would not fit in this machine: K and V for every token on every layer (twice, as
    /// Star's anchors and ring's received blocks can hold a second copy) plus f32 activations of the
    /// widest layer for every token, against 80% of physical memory less the loaded weights.
    /// - Throws: ``StarSimError`` naming the token count and both sizes.
    public func checkMemory(tokens: Int, field: String) throws(StarSimError) {
        let c = model.config
        let kvPerToken = 2 * c.layerCount * c.kvWidth * 4
        let activationsPerToken = (c.qkvWidth + 2 * c.intermediateSize + 2 * c.hiddenSize) * 4
        let (needed, overflow) = tokens.multipliedReportingOverflow(by: 2 * kvPerToken + activationsPerToken)
        let available = LlamaModel.memoryBudgetBytes - LlamaModel.f32WeightBytes(file)
        guard !overflow, needed <= available else {
            throw .invalid(field, "\(tokens) tokens need about \(needed / 1_048_576) MiB of KV cache and activations; "
                + "this machine has about \(max(0, available) / 1_048_576) MiB to spare (80% of its memory, less the weights)")
        }
    }

    /// A prompt split as Star Attention's paper does: the chat prefix, instruction and document are
    /// the *context*; the question, the end of the user turn, the assistant header and the answer
    /// prefix are the *query*. Both are tokenized separately (no token spans the boundary).
    public struct SplitPrompt: Sendable, Hashable {
        public var context: [Int32]
        public var query: [Int32]
        /// The full text, for display.
        public var text: String

        public init(context: [Int32], query: [Int32], text: String = "") {
            self.context = context
            self.query = query
            self.text = text
        }
    }

    /// How a prompt is laid out.
    public enum PromptFormat: String, Sendable, Hashable, CaseIterable {
        /// Plain text: `document`, a newline, `question`, then the answer prefix to complete —
        /// the layout of the original passkey test (Mohtashami & Jaggi, 2023: lines joined by one
        /// `\n`). SmolLM2-135M retrieves needles at every depth only this way (see Docs/Scenarios.md).
        case completion
        /// The model's ChatML template, as the paper does: the chat prefix and document are the
        /// context; the question, end of turn, assistant header and answer prefix are the query.
        case chat
    }

    /// Splits `document` + `question` into context and query tokens, in `format`.
    public func splitPrompt(document: String, question: String, answerPrefix: String,
                            format: PromptFormat = .completion) -> SplitPrompt {
        let contextText: String
        var queryText: String
        switch format {
        case .completion:
            contextText = document
            queryText = "\n" + question
        case .chat:
            let user = document + "\n\n" + question
            let rendered = tokenizer.renderChat(messages: [ChatMessage(role: "user", content: user)], addGenerationPrompt: true)
            guard let cut = rendered.range(of: question, options: .backwards) else {
                preconditionFailure("the question must appear in the rendered chat")
            }
            contextText = String(rendered[..<cut.lowerBound])
            queryText = String(rendered[cut.lowerBound...])
        }
        if !answerPrefix.isEmpty { queryText += (format == .completion ? " " : "") + answerPrefix }
        return SplitPrompt(
            context: tokenizer.encode(contextText), query: tokenizer.encode(queryText),
            text: contextText + queryText)
    }

    /// Token ids that end generation (end of turn, end of text).
    public var stopTokens: Set<Int32> {
        Set([tokenizer.endOfTurnID, tokenizer.endOfTextID].compactMap { $0 })
    }
}
