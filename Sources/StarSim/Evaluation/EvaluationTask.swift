/// Synthetic long-context tasks in the style of RULER (Hsieh et al., 2024), generated from a seed.
///
/// Each instance has an instruction + haystack (the *context*, distributed over hosts), a question
/// and an answer prefix (the *query*, seen by every host in Star Attention's phase 2), and the
/// expected strings. Scoring follows RULER's `string_match_all`: the fraction of expected strings
/// that appear in the model's output (case-insensitive).
///
/// The haystack is the classic passkey filler ("The grass is green. …"), so that the only
/// information in the context is what the task plants in it.
public struct EvaluationTask: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// One 5-digit passkey at a given depth.
        case passkey
        /// Several key → number needles; the question asks for one key's number.
        case multikey = "niah-multikey"
        /// One key with four numbers at different depths; all four are expected.
        case multivalue = "niah-multivalue"
        /// A chain of variable assignments (multi-hop); all variables with the value are expected.
        case variableTracking = "variable-tracking"
        /// A long word list; the ten most frequent words are expected.
        case commonWords = "common-words"
    }

    public var kind: Kind
    /// Approximate context length in tokens (the haystack is sized with the real tokenizer).
    public var contextTokens: Int
    /// Relative depth (0…1) of the needle for `passkey`; other tasks spread needles by the seed.
    public var depth: Double
    public var seed: UInt64
    /// For `passkey`: a fixed passkey instead of one drawn from the seed.
    public var passkey: Int?

    public init(kind: Kind, contextTokens: Int, depth: Double = 0.5, seed: UInt64, passkey: Int? = nil) {
        self.kind = kind
        self.contextTokens = contextTokens
        self.depth = depth
        self.seed = seed
        self.passkey = passkey
    }

    /// One generated instance.
    public struct Instance: Sendable, Hashable {
        /// Instruction + haystack: the user's long document.
        public var context: String
        /// The question asked after the context.
        public var question: String
        /// Text the assistant's answer starts with (part of the query, as in RULER).
        public var answerPrefix: String
        /// Strings the answer must contain.
        public var expected: [String]

        public init(context: String, question: String, answerPrefix: String, expected: [String]) {
            self.context = context
            self.question = question
            self.answerPrefix = answerPrefix
            self.expected = expected
        }

        /// RULER `string_match_all`: fraction of `expected` found in `output` (case-insensitive), 0…1.
        public func score(_ output: String) -> Double {
            guard !expected.isEmpty else { return 0 }
            let lower = output.lowercased()
            let hits = expected.filter { lower.contains($0.lowercased()) }.count
            return Double(hits) / Double(expected.count)
        }
    }

    static let filler = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. "

    /// Builds the instance; `countTokens` measures text with the model's tokenizer so that the
    /// context lands close to `contextTokens`.
    public func make(countTokens: (String) -> Int) -> Instance {
        var rng = SeededGenerator(seed: seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(kind.hashValueStable))
        let fillerTokens = max(1, countTokens(Self.filler))
        switch kind {
        case .passkey:
            let key = passkey ?? Int.random(in: 10_000...99_999, using: &rng)
            let instruction = "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n\n"
            let needle = "The pass key is \(key). Remember it. \(key) is the pass key. "
            let units = unitsFor(budget: contextTokens - countTokens(instruction) - countTokens(needle), fillerTokens: fillerTokens)
            let hay = Self.haystack(units: units, needles: [(depth, needle)])
            return Instance(context: instruction + hay, question: "What is the pass key?",
                            answerPrefix: "The pass key is", expected: ["\(key)"])

        case .multikey, .multivalue:
            let instruction = "Some special magic numbers are hidden within the following text. Make sure to memorize them. I will quiz you about the numbers afterwards.\n\n"
            var keys = Set<String>()
            while keys.count < 4 { keys.insert(Self.word(using: &rng)) }
            let ordered = keys.sorted()
            let target = ordered[Int.random(in: 0..<ordered.count, using: &rng)]
            var needles: [(Double, String)] = []
            var expected: [String] = []
            if kind == .multikey {
                for k in ordered {
                    let n = Int.random(in: 1_000_000...9_999_999, using: &rng)
                    needles.append((Double.random(in: 0.05...0.95, using: &rng), "One of the special magic numbers for \(k) is: \(n). "))
                    if k == target { expected = ["\(n)"] }
                }
            } else {
                for _ in 0..<4 {
                    let n = Int.random(in: 1_000_000...9_999_999, using: &rng)
                    needles.append((Double.random(in: 0.05...0.95, using: &rng), "One of the special magic numbers for \(target) is: \(n). "))
                    expected.append("\(n)")
                }
            }
            let needleTokens = needles.reduce(0) { $0 + countTokens($1.1) }
            let units = unitsFor(budget: contextTokens - countTokens(instruction) - needleTokens, fillerTokens: fillerTokens)
            let hay = Self.haystack(units: units, needles: needles)
            let question = kind == .multikey
                ? "What is the special magic number for \(target) mentioned in the provided text?"
                : "What are all the special magic numbers for \(target) mentioned in the provided text?"
            let prefix = kind == .multikey
                ? "The special magic number for \(target) mentioned in the provided text is"
                : "The special magic numbers for \(target) mentioned in the provided text are"
            return Instance(context: instruction + hay, question: question, answerPrefix: prefix, expected: expected)

        case .variableTracking:
            let instruction = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n"
            let value = Int.random(in: 10_000...99_999, using: &rng)
            var names: [String] = []
            while names.count < 4 {
                let n = String((0..<5).map { _ in Character(Unicode.Scalar(UInt8.random(in: 65...90, using: &rng))) })
                if !names.contains(n) { names.append(n) }
            }
            var needles: [(Double, String)] = [(0.05, "VAR \(names[0]) = \(value). ")]
            for i in 1..<names.count {
                needles.append((0.05 + 0.9 * Double(i) / Double(names.count), "VAR \(names[i]) = VAR \(names[i - 1]). "))
            }
            let needleTokens = needles.reduce(0) { $0 + countTokens($1.1) }
            let units = unitsFor(budget: contextTokens - countTokens(instruction) - needleTokens, fillerTokens: fillerTokens)
            let hay = Self.haystack(units: units, needles: needles)
            return Instance(
                context: instruction + hay,
                question: "Find all variables that are assigned the value \(value) in the text above.",
                answerPrefix: "According to the chain(s) of variable assignment in the text above, \(names.count) variables are assigned the value \(value), they are:",
                expected: names)

        case .commonWords:
            let instruction = "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones that appear most often.\n"
            var common = Set<String>()
            while common.count < 10 { common.insert(Self.word(using: &rng)) }
            var rare = Set<String>()
            while rare.count < 400 { let w = Self.word(using: &rng); if !common.contains(w) { rare.insert(w) } }
            // Tokens per list entry, measured on a sample numbered like the middle of a long list.
            let sample = rare.sorted().prefix(50).enumerated().map { "\($0.offset + 1000). \($0.element)" }
            let perWord = max(1.0, Double(countTokens(sample.joined(separator: " "))) / Double(sample.count))
            let slots = max(40, Int(Double(contextTokens - countTokens(instruction)) / perWord))
            let commonCount = max(3, slots / 40)
            var words: [String] = []
            for w in common.sorted() { words += Array(repeating: w, count: commonCount) }
            let rareSorted = rare.sorted()
            var i = 0
            while words.count < slots { words.append(rareSorted[i % rareSorted.count]); i += 1 }
            words.shuffle(using: &rng)
            let list = words.enumerated().map { "\($0.offset + 1). \($0.element)" }.joined(separator: " ")
            return Instance(
                context: instruction + list + "\n",
                question: "What are the 10 most common words in the above list?",
                answerPrefix: "Answer: The top 10 words that appear most often in the list are:",
                expected: common.sorted())
        }
    }

    private func unitsFor(budget: Int, fillerTokens: Int) -> Int { max(1, budget / fillerTokens) }

    /// Filler repeated `units` times with each needle inserted at its relative depth (sentence boundary).
    static func haystack(units: Int, needles: [(Double, String)]) -> String {
        var out = ""
        let placed = needles.map { (min(units, max(0, Int(($0.0 * Double(units)).rounded()))), $0.1) }
            .enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
        var next = 0
        for u in 0...units {
            while next < placed.count, placed[next].0 == u { out += placed[next].1; next += 1 }
            if u < units { out += filler }
        }
        return out
    }

    /// A pronounceable pseudo-word (no dictionary needed, reproducible).
    static func word(using rng: inout SeededGenerator) -> String {
        let consonants = Array("bcdfghklmnprstvz"), vowels = Array("aeiou")
        let syllables = Int.random(in: 2...3, using: &rng)
        var s = ""
        for _ in 0..<syllables {
            s.append(consonants.randomElement(using: &rng)!)
            s.append(vowels.randomElement(using: &rng)!)
        }
        return s
    }
}

extension EvaluationTask.Kind {
    /// A hash that does not change between runs (Swift's `hashValue` is seeded per process).
    var hashValueStable: Int { Self.allCases.firstIndex(of: self)! &* 7919 }
}
