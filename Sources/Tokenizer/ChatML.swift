/// One message of a chat: a role (`"system"`, `"user"`, `"assistant"`) and its text.
public struct ChatMessage: Sendable, Hashable, Codable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// ChatML prompt rendering, matching SmolLM2's `tokenizer.chat_template`:
///
/// ```jinja
/// {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}
///   {{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}
/// {% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}
/// {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
/// ```
///
/// (line breaks added here for reading; the template has none between tags). Each message becomes
/// `<|im_start|>{role}\n{content}<|im_end|>\n`; if the first message is not a system message a
/// default system message is put first; the generation prompt is `<|im_start|>assistant\n`.
/// Contents are inserted verbatim (no trimming or escaping).
public enum ChatML {
    /// SmolLM2's default system message, as written in its chat template.
    public static let smolLM2DefaultSystemPrompt =
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// Renders `messages` as a ChatML prompt.
    ///
    /// - Parameters:
    ///   - addGenerationPrompt: append `<|im_start|>assistant\n` so the model writes the reply.
    ///   - defaultSystemPrompt: inserted as a system message when `messages` is non-empty and does
    ///     not start with one; nil inserts nothing. Defaults to SmolLM2's.
    public static func render(
        messages: [ChatMessage], addGenerationPrompt: Bool,
        defaultSystemPrompt: String? = smolLM2DefaultSystemPrompt
    ) -> String {
        var out = ""
        for (i, m) in messages.enumerated() {
            if i == 0, m.role != "system", let defaultSystemPrompt {
                out += "<|im_start|>system\n" + defaultSystemPrompt + "<|im_end|>\n"
            }
            out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }

    /// Whether `template` is a ChatML template this renderer reproduces: it writes messages as
    /// `'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'` and the
    /// generation prompt as `'<|im_start|>assistant\n'` (with `\n` as an escape or a real newline).
    public static func isSupportedTemplate(_ template: String) -> Bool {
        let t = template.replacingNewlineEscapes()
        return t.contains("'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'")
            && t.contains("'<|im_start|>assistant\n'")
            && (!t.contains("messages[0]['role'] != 'system'") || defaultSystemPrompt(inTemplate: template) != nil)
    }

    /// The default system message a ChatML template inserts when the first message is not a
    /// system message: the text of `'<|im_start|>system\n…<|im_end|>\n'` inside
    /// `{% if loop.first and messages[0]['role'] != 'system' %}`; nil if the template has none.
    public static func defaultSystemPrompt(inTemplate template: String) -> String? {
        let t = template.replacingNewlineEscapes()
        guard let condition = t.firstRange(of: "messages[0]['role'] != 'system'") else { return nil }
        let rest = t[condition.upperBound...]
        let opener = "'<|im_start|>system\n"
        guard let start = rest.firstRange(of: opener),
            let end = rest[start.upperBound...].firstRange(of: "<|im_end|>\n'")
        else { return nil }
        // The literal must belong to this `if`: no `{% endif %}` between the condition and it.
        if let endif = rest.firstRange(of: "endif"), endif.lowerBound < start.lowerBound { return nil }
        return String(rest[start.upperBound..<end.lowerBound])
    }
}

extension BPETokenizer {
    /// Renders `messages` with this model's chat template: ChatML, with the default system message
    /// taken from `chatTemplate` (none if the template inserts none or is absent).
    public func renderChat(messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        let system = chatTemplate.flatMap { ChatML.defaultSystemPrompt(inTemplate: $0) }
        return ChatML.render(messages: messages, addGenerationPrompt: addGenerationPrompt, defaultSystemPrompt: system)
    }
}

extension String {
    /// Replaces the two-character escape `\n` with a newline (templates store either form).
    fileprivate func replacingNewlineEscapes() -> String {
        var out = ""
        var it = makeIterator()
        while let c = it.next() {
            if c == "\\" {
                if let d = it.next() {
                    if d == "n" { out.append("\n") } else { out.append(c); out.append(d) }
                } else {
                    out.append(c)
                }
            } else {
                out.append(c)
            }
        }
        return out
    }
}
