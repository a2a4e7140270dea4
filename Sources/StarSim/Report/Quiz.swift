import Cluster
import DistributedAttention
import Foundation

/// Predict, then reveal (`run --quiz`): before the results are shown, the learner estimates a few
/// key numbers of this run — the bytes Ring moves while encoding the context, Star's phase-2 bytes per
/// generated token, the host that finishes phase 1 last — and then sees the answer measured on the
/// run, their error and the formula behind it (with this run's numbers).
///
/// Pure: ``questions(_:)`` reads a finished run; ``conduct(_:read:write:)`` asks through the closures
/// it is given (the terminal in the CLI, a script in tests).
public struct Quiz: Sendable {
    public enum Kind: String, Sendable {
        /// An amount of bytes; answers like `40 MB`, `4e7`, `38.5MiB`.
        case bytes
        /// A host; answers like `host2` or `2`.
        case host
    }

    public struct Question: Sendable, Hashable {
        public var text: String
        public var kind: Kind
        /// The answer measured on the run (bytes, or a host index).
        public var answer: Double
        /// How to get it, with this run's numbers.
        public var formula: String
        /// Host questions: other hosts that tie with the answer (also right).
        public var ties: [Int] = []
    }

    public var questions: [Question]

    /// The questions this run can answer (those whose method is in the scenario).
    public static func questions(_ run: ScenarioRun) -> Quiz {
        var out: [Question] = []
        let shape = run.shape
        if let ring = run.results.first(where: { if case .ring = $0.outcome.method { true } else { false } }),
           case .ring(let plan) = ring.outcome.method, plan.hosts > 1 {
            let measured = bytes(ring.outcome, phase: .contextEncoding)
            var formula = "each of the \(plan.hosts) hosts passes every block it receives on, so every host's K,V reach the "
                + "\(plan.hosts - 1) others at every layer: (H−1) × layers × L × 2 × kv_heads × head_dim × bytes"
            if let shape {
                let table = plan.analyticTraffic(shape: shape, sampledTokens: 1)
                formula += " = \(plan.hosts - 1) × \(shape.layers) × \(plan.contextLength) × 2 × \(shape.kvHeads) × \(shape.headDim) × "
                    + "\(shape.bytesPerElement) = \(formatBytes(table.total(phase: .contextEncoding)))"
            }
            out.append(Question(
                text: "Ring (\(ring.outcome.name)) on \(plan.hosts) hosts encodes \(plan.contextLength) context tokens. How many bytes "
                    + "cross the links in that phase (all hosts together)?",
                kind: .bytes, answer: Double(measured), formula: formula))
        }
        if let star = run.results.first(where: { if case .star = $0.outcome.method { true } else { false } }),
           case .star(let plan) = star.outcome.method, plan.hosts > 1 {
            let generated = max(0, star.outcome.generated.count - 1)
            if generated > 0 {
                let measured = bytes(star.outcome, phase: .generation) / generated
                var formula = "per generated token and layer, with \(plan.phase2.rawValue): "
                switch plan.phase2 {
                case .gatherBroadcast:
                    formula += "H−1 partials (output + lse) to the query host and H−1 merged outputs back, plus the token id to H−1 hosts"
                case .allGather:
                    formula += "every host sends its partial (output + lse) to the H−1 others, plus the token id to H−1 hosts"
                case .tree:
                    formula += "one partial up and one merged output down each tree edge (H−1 edges), plus the token id to H−1 hosts"
                }
                if let shape {
                    let h = plan.hosts
                    let partial = shape.partialBytesPerToken, merged = shape.mergedBytesPerToken
                    let perToken: Int
                    switch plan.phase2 {
                    case .gatherBroadcast, .tree: perToken = shape.layers * (h - 1) * (partial + merged)
                    case .allGather: perToken = shape.layers * h * (h - 1) * partial
                    }
                    formula += ": partial = heads × head_dim × \(shape.bytesPerElement) + heads × 4 = \(partial) B, merged = \(merged) B; "
                    formula += plan.phase2 == .allGather
                        ? "\(shape.layers) layers × \(h) × \(h - 1) × \(partial) B"
                        : "\(shape.layers) layers × \(h - 1) × (\(partial) + \(merged)) B"
                    formula += " + \(h - 1) × 4 B = \(formatBytes(perToken + (h - 1) * ModelShape.tokenIDBytes))"
                    formula += " — the same at 4K or 1M tokens of context: phase 2 never moves K,V"
                }
                out.append(Question(
                    text: "Star (\(star.outcome.name)) on \(plan.hosts) hosts: how many bytes cross the links per generated token?",
                    kind: .bytes, answer: Double(measured), formula: formula))
            }
            let log = star.outcome.report.log
            var lastEnd: [HostID: SimInstant] = [:]
            for r in log.records where r.hasDuration && r.phase == Phase.contextEncoding.tag {
                if case .compute(let c) = r { lastEnd[c.host] = max(lastEnd[c.host] ?? c.end, c.end) }
            }
            if let latest = lastEnd.values.max() {
                let last = lastEnd.filter { $0.value == latest }.map(\.key.rawValue).sorted()
                let ends = lastEnd.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                out.append(Question(
                    text: "Star (\(star.outcome.name)): which host finishes phase 1 (context encoding) last? (0 to \(plan.hosts - 1))",
                    kind: .host, answer: Double(last[0]),
                    formula: "host0 encodes its block alone; every other host encodes anchor + block, twice the tokens and about "
                        + "three times the attention pairs (the last block may be shorter). Phase 1 ended at: \(ends)",
                    ties: Array(last.dropFirst())))
            }
        }
        return Quiz(questions: out)
    }

    /// Bytes all hosts sent in one phase (the run's counters).
    static func bytes(_ o: MethodOutcome, phase: Phase) -> Int {
        o.counters.hosts.reduce(0) { $0 + ($1.sentByPhase[phase.tag] ?? 0) }
    }

    /// A learner's answer as a number, or nil when it cannot be read.
    public static func parse(_ text: String, kind: Kind) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch kind {
        case .host:
            let digits = t.hasPrefix("host") ? String(t.dropFirst(4)) : t
            return Int(digits.trimmingCharacters(in: .whitespaces)).map(Double.init)
        case .bytes:
            let units: [(String, Double)] = [("kib", 1024), ("mib", 1_048_576), ("gib", 1_073_741_824), ("tib", 1_099_511_627_776),
                                             ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("k", 1e3), ("m", 1e6),
                                             ("g", 1e9), ("b", 1)]
            var number = t, scale = 1.0
            for (suffix, factor) in units where t.hasSuffix(suffix) {
                number = String(t.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
                scale = factor
                break
            }
            guard let v = Double(number.replacingOccurrences(of: ",", with: "")), v.isFinite, v >= 0 else { return nil }
            return v * scale
        }
    }

    /// The reveal: the answer, the learner's error and the formula.
    public static func reveal(_ q: Question, guess: Double?) -> String {
        var lines: [String] = []
        switch q.kind {
        case .bytes:
            var line = "  answer: \(formatBytes(Int(q.answer)))"
            if let guess {
                if q.answer > 0 {
                    let ratio = guess / q.answer
                    line += String(format: " — you said %@, %+.0f%% (%.2f× the answer)", formatBytes(Int(guess)), 100 * (ratio - 1), ratio)
                } else {
                    line += " — you said \(formatBytes(Int(guess)))"
                }
            }
            lines.append(line)
        case .host:
            let right = [Int(q.answer)] + q.ties
            var line = "  answer: " + right.map { "host\($0)" }.joined(separator: " and ") + (q.ties.isEmpty ? "" : " (tied)")
            if let guess { line += right.contains(Int(guess)) ? " — right" : " — you said host\(Int(guess))" }
            lines.append(line)
        }
        lines.append("  why: \(q.formula)")
        return lines.joined(separator: "\n")
    }

    /// Asks every question through `read`/`write`: an empty answer skips to the reveal; one that cannot
    /// be read is asked again (three tries). `read` returning nil (end of input) stops asking.
    /// - Returns: the learner's guesses (nil where skipped).
    @discardableResult
    public func conduct(read: () -> String?, write: (String) -> Void) -> [Double?] {
        var guesses: [Double?] = []
        for (i, q) in questions.enumerated() {
            write("Question \(i + 1) of \(questions.count): \(q.text)")
            var guess: Double?
            var tries = 0
            while tries < 3 {
                tries += 1
                write(q.kind == .bytes ? "  your estimate (e.g. 40 MB, 3.5e7; empty to skip): " : "  your answer (e.g. host2; empty to skip): ")
                guard let line = read() else { break }
                if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
                if let v = Self.parse(line, kind: q.kind) {
                    guess = v
                    break
                }
                write(q.kind == .bytes ? "  '\(line)' is not an amount of bytes; try 40 MB, 512 KiB or 3.5e7" : "  '\(line)' is not a host; try host2 or 2")
            }
            guesses.append(guess)
            write(Self.reveal(q, guess: guess))
            write("")
        }
        return guesses
    }
}
