import Foundation
import Testing
import Tokenizer

/// ChatML rendering against `Fixtures/chat-template.json`: SmolLM2's template (copied from the GGUF)
/// rendered by jinja2 3.1.6. Needs no model.
@Suite struct ChatMLTests {
    static func fixture() throws -> ChatTemplateFixture {
        try JSONDecoder().decode(ChatTemplateFixture.self, from: Fixture.data("chat-template.json"))
    }

    @Test func renderingMatchesJinjaCharacterForCharacter() throws {
        let f = try Self.fixture()
        #expect(f.renderings.count >= 3)
        let system = ChatML.defaultSystemPrompt(inTemplate: f.chat_template)
        #expect(system == ChatML.smolLM2DefaultSystemPrompt)
        for r in f.renderings {
            let messages = r.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            let text = ChatML.render(messages: messages, addGenerationPrompt: r.add_generation_prompt,
                                     defaultSystemPrompt: system)
            #expect(Array(text.unicodeScalars) == Array(r.text.unicodeScalars), "\(r.name)")
            // The architecture-contract call (SmolLM2's default system prompt) gives the same text.
            #expect(ChatML.render(messages: messages, addGenerationPrompt: r.add_generation_prompt) == text)
        }
    }

    @Test func templateIsRecognised() throws {
        let f = try Self.fixture()
        #expect(ChatML.isSupportedTemplate(f.chat_template))
        #expect(!ChatML.isSupportedTemplate("{{ bos_token }}{% for m in messages %}[INST] {{ m['content'] }}{% endfor %}"))
        // The same template with `\n` written as escapes (as in tokenizer_config.json) reads the same.
        let escaped = f.chat_template.replacingOccurrences(of: "\n", with: "\\n")
        #expect(ChatML.defaultSystemPrompt(inTemplate: escaped) == ChatML.smolLM2DefaultSystemPrompt)
        // A template without a default system message inserts none.
        let noDefault = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
        #expect(ChatML.defaultSystemPrompt(inTemplate: noDefault) == nil)
        #expect(ChatML.isSupportedTemplate(noDefault))
    }

    @Test func renderingRules() {
        let user = ChatMessage(role: "user", content: "Hi")
        #expect(ChatML.render(messages: [user], addGenerationPrompt: false, defaultSystemPrompt: nil)
            == "<|im_start|>user\nHi<|im_end|>\n")
        #expect(ChatML.render(messages: [user], addGenerationPrompt: true, defaultSystemPrompt: "S")
            == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        // The default is inserted only before the first message, and only if it is not a system one.
        let system = ChatMessage(role: "system", content: "Be brief.")
        #expect(ChatML.render(messages: [system, user], addGenerationPrompt: false, defaultSystemPrompt: "S")
            == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        #expect(ChatML.render(messages: [], addGenerationPrompt: true, defaultSystemPrompt: "S")
            == "<|im_start|>assistant\n")
    }
}
