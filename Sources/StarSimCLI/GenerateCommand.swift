import ArgumentParser
import Foundation
import StarSim

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text with exact global attention on one process (no cluster).",
        discussion: """
            The reference path: SmolLM2 with exact causal attention, greedy decoding, stopping at end \
            of turn. By default the prompt is wrapped in the model's ChatML template.
            """)

    @Argument(help: "The prompt (use - to read it from stdin).")
    var prompt: String = "What is the capital of France?"

    @Flag(help: "Send the prompt as raw text, without the chat template.")
    var raw = false

    @Option(name: .long, parsing: .unconditional, help: "Maximum new tokens (1 to 8192, and prompt + new tokens within the model's context).")
    var maxTokens = 64

    @Option(help: "GGUF model file (default: $STARSIM_MODEL or the cached SmolLM2).")
    var model: String?

    func run() throws {
        _ = try checked(maxTokens, "--max-tokens", InputLimits.realRunGeneratedTokens, "a number of tokens")
        var text = prompt
        if prompt == "-" {
            do { text = String(decoding: try InputFile.readStandardInput(limit: 16 << 20, expected: "a prompt"), as: UTF8.self) } catch {
                try fail("\(error)")
            }
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { try fail("the prompt is empty") }
        let session: ModelSession
        do { session = try ModelSession(path: model) } catch { try fail("\(error)") }
        let rendered = raw ? text : session.tokenizer.renderChat(
            messages: [.init(role: "user", content: text)], addGenerationPrompt: true)
        let ids = session.tokenizer.encode(rendered)
        let contextLength = session.model.config.contextLength
        guard ids.count + maxTokens <= contextLength else {
            try fail("--max-tokens \(maxTokens): the prompt's \(ids.count) tokens + \(maxTokens) new tokens exceed the model's "
                + "context of \(contextLength) tokens; expected --max-tokens at most \(max(0, contextLength - ids.count))")
        }
        do { try session.checkMemory(tokens: ids.count + maxTokens, field: "--max-tokens") } catch { try fail("\(error)") }
        var hook = GlobalAttention(config: session.model.config, reservingTokens: ids.count + maxTokens)
        let start = DispatchTime.now().uptimeNanoseconds
        var firstToken: UInt64 = 0
        let out: [Int32]
        do {
            let progress = ProgressOutput()
            let total = maxTokens
            out = try session.model.generate(prompt: ids, maxTokens: maxTokens, stopAt: session.stopTokens, hook: &hook) { n in
                if n == 1 { firstToken = DispatchTime.now().uptimeNanoseconds }
                if total >= 64 { progress.status("generating: \(n)/\(total) tokens") }
            }
            progress.finish()
        } catch {
            try fail("\(error)", code: 1)
        }
        let end = DispatchTime.now().uptimeNanoseconds
        print(session.tokenizer.decode(out))
        let prefill = Double(max(firstToken, start) - start) / 1e9
        let decode = out.count > 1 ? Double(end - firstToken) / 1e9 / Double(out.count - 1) : 0
        FileHandle.standardError.write(Data(String(
            format: "[%d prompt tokens, prefill %.2f s (%.0f tokens/s); %d generated, %.1f ms/token]\n",
            ids.count, prefill, Double(ids.count) / max(prefill, 1e-9), out.count, decode * 1000).utf8))
    }
}
