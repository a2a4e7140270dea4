import ConfigFiles
import Foundation
import StarSim
import Testing
import TestSupport

/// `starsim eval` options, suite files and their validation messages (pure logic, no model).
@Suite struct EvaluationSuiteTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    func options(_ edit: (inout EvaluationSuite.Options) -> Void) -> EvaluationSuite.Options {
        var o = EvaluationSuite.Options()
        edit(&o)
        return o
    }

    @Test func defaultsAreAllTasksAt2KGlobalAndStarOn4Hosts() throws {
        let s = try EvaluationSuite.fromOptions(EvaluationSuite.Options())
        #expect(s.parts.count == 1)
        #expect(s.parts[0].tasks == EvaluationTask.Kind.allCases)
        #expect(s.parts[0].contexts == [2048])
        #expect(s.parts[0].methods.map(\.label) == ["global", "star"])
        #expect(s.parts[0].methods[0].hosts == 1 && s.parts[0].methods[1].hosts == 4)
        #expect(s.parts[0].methods[1].block == nil && s.parts[0].methods[1].anchor == nil)
        #expect(s.samples == 3 && s.seed == 1)
        #expect(s.runCount == 5 * 1 * 2 * 3)
        #expect(s.answerPrefix && s.depths.isEmpty && s.depth(sample: 1) == 0.5)
        #expect(s.maxNewTokens(for: .passkey) == 8 && s.maxNewTokens(for: .multikey) == 16 && s.maxNewTokens(for: .multivalue) == 40)
        #expect(s.maxNewTokens(for: .variableTracking) == 32 && s.maxNewTokens(for: .commonWords) == 48)
        var p = s
        p.answerPrefix = false
        #expect(p.maxNewTokens(for: .passkey) == 16 && p.maxNewTokens(for: .multivalue) == 64)
        #expect(p.maxNewTokens(for: .variableTracking) == 48 && p.maxNewTokens(for: .commonWords) == 64)
        let d = try EvaluationSuite.fromOptions(options { $0.depths = ["0.9", "0.1"]; $0.samples = 3; $0.answerPrefix = false })
        #expect(d.depth(sample: 0) == 0.9 && d.depth(sample: 1) == 0.1 && d.depth(sample: 2) == 0.9 && !d.answerPrefix)
    }

    @Test func listsExpandIntoLabelledMethods() throws {
        let s = try EvaluationSuite.fromOptions(options {
            $0.tasks = ["passkey"]; $0.contexts = ["1K", "4096"]
            $0.methods = ["global", "star", "star-noanchor", "star-prev", "ring"]
            $0.hosts = ["2", "4"]; $0.blocks = ["256"]; $0.anchors = ["0", "block"]
            $0.generate = 5
        })
        #expect(s.parts[0].contexts == [1024, 4096])
        #expect(s.parts[0].methods.map(\.label) == [
            "global",
            "star h2 b256 a0", "star h2 b256 ablock", "star h4 b256 a0", "star h4 b256 ablock",
            "star-noanchor h2 b256", "star-noanchor h4 b256",
            "star-prev h2 b256 a0", "star-prev h2 b256 ablock", "star-prev h4 b256 a0", "star-prev h4 b256 ablock",
            "ring h2", "ring h4",
        ])
        let noAnchor = s.parts[0].methods[5]
        #expect(noAnchor.anchor == 0 && noAnchor.anchorText == "none" && noAnchor.blockText == "256")
        guard case .star(let o) = s.parts[0].methods[7].scenarioMethod else { Issue.record("not star"); return }
        #expect(o.anchorSource == .previousBlock && o.blockSize == 256 && o.anchorSize == 0)
        #expect(s.maxNewTokens(for: .commonWords) == 5)
    }

    @Test func badOptionsNameTheOptionAndWhatIsExpected() {
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.tasks = ["passkey", "needle"] }) }
            == "--tasks: unknown task 'needle'; known tasks: passkey, niah-multikey, niah-multivalue, variable-tracking, common-words")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.methods = ["global", "flash"] }) }
            == "--methods: unknown method 'flash'; known methods: global, star, star-noanchor, star-prev, ring, ring-zigzag, ring-striped, ring-passq, ring-zigzag-passq, ring-striped-passq, ulysses, usp, apb, allgather, allgather-zigzag, allgather-striped")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.contexts = ["1K"]; $0.blocks = ["2048"] }) }
            == "--block: 2048 is larger than the 1K context (1024 tokens); expected at most 1024")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.contexts = ["1K"]; $0.blocks = ["256"]; $0.anchors = ["512"] }) }
            == "--anchor: 512 is larger than the block (256 tokens at 1K on 4 hosts); expected at most 256")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.contexts = ["1K"]; $0.anchors = ["300"] }) }
            == "--anchor: 300 is larger than the block (256 tokens at 1K on 4 hosts); expected at most 256")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.hosts = ["8"]; $0.blocks = ["512"] }) }
            == "--hosts: 8 hosts but a 2K context in blocks of 512 tokens makes only 4 blocks; use at most 4 hosts or a smaller block")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.contexts = ["2K", "16K"] }) }
            == "--context: 16K (16384 tokens) is beyond the model's context of 8192 tokens; expected at most 8K")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.contexts = ["two"] }) }
            == "--context: 'two' is not a context length; expected tokens like 2K or 2048")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.hosts = ["0"] }) }
            == "--hosts: 0 is out of range; expected 1...64")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.samples = 0 }) }
            == "--samples: 0 is out of range; expected 1...1000")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.generate = 0 }) }
            == "--generate: 0 is out of range; expected 1...1024")
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.depths = ["1.5"] }) }
            == "--depth: '1.5' is not a depth; expected a number in 0...1 (0 = start of the context)")
        // 8K is accepted (the task is sized to leave room for the query and the answer).
        #expect(message { _ = try EvaluationSuite.fromOptions(options { $0.contexts = ["8K"] }) } == nil)
    }

    @Test func suiteFilesAreStrictlyValidated() throws {
        let good = """
            name: demo
            seed: 5
            samples: 2
            generate: {passkey: 6}
            runs:
              - tasks: [passkey]
                context: [2K, 4K]
                methods: [global, star, star-noanchor, star-prev]
              - tasks: niah-multikey
                context: 1K
                methods: [global, star]
                hosts: [2]
                block: [256]
                anchor: [64]
            """
        let s = try EvaluationSuite.parse(ConfigNode.parse(good, file: "demo.yaml"))
        #expect(s.name == "demo" && s.seed == 5 && s.samples == 2 && s.maxNewTokens(for: .passkey) == 6)
        #expect(s.parts.count == 2)
        #expect(s.parts[0].methods.map(\.label) == ["global", "star", "star-noanchor", "star-prev"])
        #expect(s.parts[1].tasks == [.multikey] && s.parts[1].contexts == [1024])
        #expect(s.parts[1].methods.map(\.label) == ["global", "star b256 a64"])
        #expect(s.runCount == (2 * 4 + 2) * 2)

        func fileError(_ text: String) -> String? { message { _ = try EvaluationSuite.parse(ConfigNode.parse(text, file: "bad.yaml")) } }
        #expect(fileError("runs:\n  - tasks: [passkey]\n    context: [2K]\n    methods: [global]\n    blocks: [256]\n")
            == "bad.yaml:5: field 'runs[0].blocks': unknown field (did you mean 'block'?); known fields here: anchor, block, context, hosts, methods, tasks")
        #expect(fileError("runs:\n  - tasks: [passkey, needle]\n    context: [2K]\n    methods: [global]\n")
            == "bad.yaml:2: field 'runs[0].tasks[1]': unknown task 'needle'; known tasks: passkey, niah-multikey, niah-multivalue, variable-tracking, common-words")
        #expect(fileError("runs:\n  - tasks: [passkey]\n    context: [2K]\n    methods: [global, flash]\n")
            == "bad.yaml:4: field 'runs[0].methods[1]': unknown method 'flash'; known methods: global, star, star-noanchor, star-prev, ring, ring-zigzag, ring-striped, ring-passq, ring-zigzag-passq, ring-striped-passq, ulysses, usp, apb, allgather, allgather-zigzag, allgather-striped")
        #expect(fileError("runs:\n  - tasks: [passkey]\n    context: [2K]\n")
            == "bad.yaml:2: field 'runs[0].methods': missing; expected a list of methods (global, star, star-noanchor, star-prev, ring, ring-zigzag, ring-striped, ring-passq, ring-zigzag-passq, ring-striped-passq, ulysses, usp, apb, allgather, allgather-zigzag, allgather-striped)")
        #expect(fileError("runs:\n  - tasks: [passkey]\n    context: [2K]\n    methods: [star]\n  - tasks: [passkey]\n    context: [1K]\n    methods: [star]\n    block: [2K]\n")
            == "bad.yaml: runs[1].block: 2048 is larger than the 1K context (1024 tokens); expected at most 1024")
        #expect(fileError("runs:\n  - tasks: [passkey]\n    context: [16K]\n    methods: [global]\n")
            == "bad.yaml:3: field 'runs[0].context[0]': 16K (16384 tokens) is beyond the model's context of 8192 tokens; expected at most 8K")
        #expect(fileError("samples: 3\nrun: []\n")?.hasPrefix("bad.yaml") == true)
    }

    @Test func shippedSuiteFilesAndTheQuickSuiteAreValid() throws {
        let dir = URL(fileURLWithPath: repositoryRoot).appendingPathComponent("scenarios/eval")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.contains("paper.yaml"))
        for f in files { _ = try EvaluationSuite.load(file: dir.appendingPathComponent(f).path) }
        let paper = try EvaluationSuite.load(file: dir.appendingPathComponent("paper.yaml").path)
        // The recorded run uses RULER's answer prefix with completion-format prompts (Docs/Evaluation.md).
        #expect(paper.runCount == (3 * 4 + 4 * 2) * 3 && paper.answerPrefix)
        try EvaluationSuite.quick.validate(modelContext: 8192, fields: .options)
        #expect(EvaluationSuite.quick.runCount == 12)
    }
}
