import StarSim
import Testing

@Suite struct EvaluationTaskTests {
    /// A stand-in token counter: about four characters per token.
    static func approxTokens(_ s: String) -> Int { max(1, s.utf8.count / 4) }

    @Test(arguments: EvaluationTask.Kind.allCases)
    func sameSeedSameInstanceAndLengthIsNearTarget(kind: EvaluationTask.Kind) {
        let task = EvaluationTask(kind: kind, contextTokens: 3000, seed: 42)
        let a = task.make(countTokens: Self.approxTokens)
        let b = task.make(countTokens: Self.approxTokens)
        #expect(a == b)
        let other = EvaluationTask(kind: kind, contextTokens: 3000, seed: 43).make(countTokens: Self.approxTokens)
        #expect(a.expected != other.expected)
        let tokens = Self.approxTokens(a.context)
        #expect(tokens > 2400 && tokens < 3300, "context has \(tokens) tokens")
        for e in a.expected { #expect(a.context.contains(e), "expected '\(e)' must be planted in the context") }
    }

    @Test(arguments: [0.1, 0.5, 0.9])
    func passkeyLandsAtItsDepth(depth: Double) {
        let inst = EvaluationTask(kind: .passkey, contextTokens: 4000, depth: depth, seed: 1, passkey: 71432)
            .make(countTokens: Self.approxTokens)
        #expect(inst.expected == ["71432"])
        let offset = inst.context.range(of: "71432")!.lowerBound.utf16Offset(in: inst.context)
        let relative = Double(offset) / Double(inst.context.utf16.count)
        #expect(abs(relative - depth) < 0.05, "needle at \(relative), wanted \(depth)")
    }

    @Test func scoringIsStringMatchAll() {
        let inst = EvaluationTask.Instance(context: "", question: "", answerPrefix: "", expected: ["AAA", "BBB"])
        #expect(inst.score("the answer is aaa and BBB") == 1)
        #expect(inst.score("only AAA") == 0.5)
        #expect(inst.score("nothing") == 0)
    }
}
