import ConfigFiles
import Foundation

/// One attention configuration of an evaluation: which method, on how many hosts, with which Star
/// block and anchor. Every method of a sample reads the same prompt.
public struct EvaluationMethod: Sendable, Hashable, Codable {
    public var kind: MethodKind
    /// Hosts of the simulated cluster (1 for global).
    public var hosts: Int
    /// Star: tokens per block; nil = the context split evenly over the hosts (the paper's L/H).
    public var block: Int?
    /// Star: anchor tokens; nil = the block size (the paper's default); 0 for `star-noanchor`.
    public var anchor: Int?
    /// Display name, unique within a suite (e.g. `star`, `star h8`, `star b256 a64`).
    public var label: String

    public init(kind: MethodKind, hosts: Int, block: Int? = nil, anchor: Int? = nil, label: String? = nil) {
        self.kind = kind
        self.hosts = kind == .global ? 1 : hosts
        self.block = kind.isStar ? block : nil
        self.anchor = kind == .starNoAnchor ? 0 : (kind.isStar ? anchor : nil)
        self.label = label ?? kind.rawValue
    }

    /// The method spec this configuration runs.
    public var scenarioMethod: MethodSpec { MethodSpec(kind: kind, blockSize: block, anchorSize: anchor) }

    /// Block as shown in tables: tokens, or `L/H` when it follows the context.
    public var blockText: String {
        if kind == .apb { return "L/\(hosts)" }
        guard kind.isStar else { return "-" }
        return block.map(String.init) ?? "L/\(hosts)"
    }

    /// Anchor as shown in tables: `none`, `=block`, or tokens; with its source.
    public var anchorText: String {
        // APB: its defaults (anchor = block/4, passing block = block/8, SnapKV-style selection).
        if kind == .apb { return "block/4 + passing block/8" }
        guard kind.isStar else { return "-" }
        if anchor == 0 { return "none" }
        let size = anchor.map(String.init) ?? "=block"
        return size + (kind == .starPrevious ? " (prev)" : " (first)")
    }
}

/// A set of (tasks × contexts × methods) evaluated together.
public struct EvaluationPart: Sendable, Hashable {
    public var tasks: [EvaluationTask.Kind]
    /// Nominal context lengths in tokens (`2K` = 2048): the task's haystack is sized to this.
    public var contexts: [Int]
    public var methods: [EvaluationMethod]

    public init(tasks: [EvaluationTask.Kind], contexts: [Int], methods: [EvaluationMethod]) {
        self.tasks = tasks
        self.contexts = contexts
        self.methods = methods
    }
}

/// What `starsim eval` runs: one or more parts, each sample of a cell with its own seed.
///
/// Built from command-line options (`EvaluationSuite.fromOptions`) or a suite file
/// (`scenarios/eval/*.yaml`, `EvaluationSuite.load`); see `Docs/Evaluation.md`.
public struct EvaluationSuite: Sendable, Hashable {
    public var name: String
    public var parts: [EvaluationPart]
    /// Samples per (task, context, method) cell; sample `i` uses seed `seed + i`.
    public var samples: Int
    public var seed: UInt64
    /// Maximum new tokens per answer, per task (absent: `EvaluationSuite.defaultGenerate`).
    public var generate: [EvaluationTask.Kind: Int]
    /// Whether the query ends with the task's answer prefix (RULER's `The pass key is`), so the
    /// model continues it, or with the assistant header only, so the model answers freely.
    public var answerPrefix: Bool
    /// Passkey depths (0…1) cycled over samples (sample `i` uses `depths[i % count]`); empty =
    /// spread evenly, `(i + ½) / samples`.
    public var depths: [Double]

    public init(name: String, parts: [EvaluationPart], samples: Int, seed: UInt64,
                generate: [EvaluationTask.Kind: Int] = [:], answerPrefix: Bool = EvaluationSuite.defaultAnswerPrefix,
                depths: [Double] = []) {
        self.depths = depths
        self.name = name
        self.parts = parts
        self.samples = samples
        self.seed = seed
        self.generate = generate
        self.answerPrefix = answerPrefix
    }

    /// RULER's format (the prefix ends the query) unless a suite or `--no-answer-prefix` says otherwise.
    public static let defaultAnswerPrefix = true

    /// Answer lengths that fit each task's expected answer with some room: a 5-digit passkey,
    /// one 7-digit number, four 7-digit numbers, four 5-letter names, ten pseudo-words (digits are
    /// single tokens in SmolLM2's vocabulary). Without the answer prefix the model first restates
    /// the question ("The pass key is …"), so the budgets are larger.
    public static func defaultGenerate(answerPrefix: Bool) -> [EvaluationTask.Kind: Int] {
        answerPrefix
            ? [.passkey: 8, .multikey: 16, .multivalue: 40, .variableTracking: 32, .commonWords: 48]
            : [.passkey: 16, .multikey: 32, .multivalue: 64, .variableTracking: 48, .commonWords: 64]
    }

    /// Maximum new tokens for `task` in this suite.
    public func maxNewTokens(for task: EvaluationTask.Kind) -> Int {
        generate[task] ?? Self.defaultGenerate(answerPrefix: answerPrefix)[task]!
    }

    /// Method names accepted by `--methods`, for messages.
    public static var knownMethods: String { MethodKind.allCases.map(\.rawValue).joined(separator: ", ") }
    /// Task names accepted by `--tasks`, for messages.
    public static var knownTasks: String { EvaluationTask.Kind.allCases.map(\.rawValue).joined(separator: ", ") }

    /// Number of (task, context, method, sample) runs.
    public var runCount: Int {
        parts.reduce(0) { $0 + $1.tasks.count * $1.contexts.count * $1.methods.count } * samples
    }

    /// `2048` → `2K`, `1536` → `1536`.
    public static func contextLabel(_ tokens: Int) -> String {
        tokens % 1024 == 0 ? "\(tokens / 1024)K" : "\(tokens)"
    }

    // MARK: - Options

    /// Command-line options of `starsim eval` before validation (lists already split at commas).
    public struct Options: Sendable, Hashable {
        public var tasks: [String] = EvaluationTask.Kind.allCases.map(\.rawValue)
        public var contexts: [String] = ["2K"]
        public var methods: [String] = ["global", "star"]
        public var hosts: [String] = ["4"]
        /// Block sizes in tokens, or `auto` (context / hosts).
        public var blocks: [String] = ["auto"]
        /// Anchor sizes in tokens, or `block` (= the block size).
        public var anchors: [String] = ["block"]
        public var samples: Int = 3
        public var seed: Int = 1
        /// Max new tokens for every task; nil = per-task defaults.
        public var generate: Int?
        public var answerPrefix: Bool = EvaluationSuite.defaultAnswerPrefix
        /// Passkey depths (0…1); empty = spread evenly over the samples.
        public var depths: [String] = []
        public init() {}
    }

    /// Expands options into a one-part suite, validating every value.
    ///
    /// - Parameter modelContext: the model's context in tokens (8192 for SmolLM2).
    /// - Throws: `StarSimError.invalid` naming the option (e.g. `--block`) and what was expected.
    public static func fromOptions(_ o: Options, modelContext: Int = 8192) throws -> EvaluationSuite {
        let tasks = try o.tasks.map { try parseTask($0, field: "--tasks") }
        let contexts = try o.contexts.map { try parseContext($0, field: "--context", modelContext: modelContext) }
        let kinds = try o.methods.map { try parseMethodKind($0, field: "--methods") }
        let hosts = try o.hosts.map { try parseCount($0, field: "--hosts", range: InputLimits.realRunHosts) }
        let blocks = try o.blocks.map { $0 == "auto" ? nil : try parseCount($0, field: "--block", range: 1...modelContext) }
        let anchors = try o.anchors.map { $0 == "block" ? nil : try parseCount($0, field: "--anchor", range: 0...modelContext) }
        guard (1...1000).contains(o.samples) else {
            throw StarSimError.invalid("--samples", "\(o.samples) is out of range; expected 1...1000")
        }
        guard o.seed >= 0 else { throw StarSimError.invalid("--seed", "\(o.seed) is negative; expected 0 or more") }
        var generate: [EvaluationTask.Kind: Int] = [:]
        if let g = o.generate {
            guard (1...1024).contains(g) else { throw StarSimError.invalid("--generate", "\(g) is out of range; expected 1...1024") }
            for t in EvaluationTask.Kind.allCases { generate[t] = g }
        }
        let methods = expand(kinds: kinds, hosts: hosts, blocks: blocks, anchors: anchors)
        let suite = EvaluationSuite(
            name: "command-line", parts: [EvaluationPart(tasks: tasks, contexts: contexts, methods: methods)],
            samples: o.samples, seed: UInt64(o.seed), generate: generate, answerPrefix: o.answerPrefix,
            depths: try o.depths.map { try parseDepth($0, field: "--depth") })
        try suite.validate(modelContext: modelContext, fields: .options)
        return suite
    }

    /// Method configurations for every combination: global once; ring per host count; Star per
    /// host count × block × anchor (`star-noanchor` ignores anchors). Labels name only the
    /// dimensions that vary, so the default suite reads `global`, `star`.
    public static func expand(kinds: [MethodKind], hosts: [Int], blocks: [Int?], anchors: [Int?]) -> [EvaluationMethod] {
        var out: [EvaluationMethod] = []
        let hostsVary = hosts.count > 1, blocksShown = blocks.count > 1 || blocks.contains { $0 != nil }
        let anchorsShown = anchors.count > 1 || anchors.contains { $0 != nil }
        func label(_ k: MethodKind, _ h: Int, _ b: Int?, _ a: Int?) -> String {
            var s = k.rawValue
            if hostsVary && k != .global { s += " h\(h)" }
            if k.isStar && blocksShown { s += " b" + (b.map(String.init) ?? "auto") }
            if (k == .star || k == .starPrevious) && anchorsShown { s += " a" + (a.map(String.init) ?? "block") }
            return s
        }
        for k in uniqued(kinds) {
            switch k {
            case .global:
                out.append(EvaluationMethod(kind: k, hosts: 1))
            case .ring, .ringZigzag, .ringStriped, .ringPassQ, .ringZigzagPassQ, .ringStripedPassQ, .allGather, .allGatherZigzag, .allGatherStriped, .ulysses, .usp, .apb:
                for h in uniqued(hosts) { out.append(EvaluationMethod(kind: k, hosts: h, label: label(k, h, nil, nil))) }
            case .starNoAnchor:
                for h in uniqued(hosts) {
                    for b in uniqued(blocks) {
                        out.append(EvaluationMethod(kind: k, hosts: h, block: b, anchor: 0, label: label(k, h, b, 0)))
                    }
                }
            case .star, .starPrevious:
                for h in uniqued(hosts) {
                    for b in uniqued(blocks) {
                        for a in uniqued(anchors) {
                            out.append(EvaluationMethod(kind: k, hosts: h, block: b, anchor: a, label: label(k, h, b, a)))
                        }
                    }
                }
            }
        }
        return out
    }

    static func uniqued<T: Hashable>(_ xs: [T]) -> [T] {
        var seen = Set<T>()
        return xs.filter { seen.insert($0).inserted }
    }

    static func parseTask(_ s: String, field: String) throws -> EvaluationTask.Kind {
        guard let k = EvaluationTask.Kind(rawValue: s) else {
            throw StarSimError.invalid(field, "unknown task '\(s)'; known tasks: \(knownTasks)")
        }
        return k
    }

    static func parseMethodKind(_ s: String, field: String) throws -> MethodKind {
        guard let k = MethodKind(rawValue: s) else {
            throw StarSimError.invalid(field, "unknown method '\(s)'; known methods: \(knownMethods)")
        }
        return k
    }

    static func parseCount(_ s: String, field: String, range: ClosedRange<Int>) throws -> Int {
        guard let v = ConfigNode.parseInt(s) else {
            throw StarSimError.invalid(field, "'\(s)' is not a number of tokens/hosts; expected an integer like 512 or 2K")
        }
        guard range.contains(v) else { throw StarSimError.invalid(field, "\(v) is out of range; expected \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    static func parseDepth(_ s: String, field: String) throws -> Double {
        guard let v = ConfigNode.parseDouble(s), (0...1).contains(v) else {
            throw StarSimError.invalid(field, "'\(s)' is not a depth; expected a number in 0...1 (0 = start of the context)")
        }
        return v
    }

    /// Parses one `--depth` value (for suite files overridden from the command line).
    public static func parseDepthOption(_ s: String) throws -> Double { try parseDepth(s, field: "--depth") }

    /// Depth of the passkey in sample `i`.
    public func depth(sample i: Int) -> Double {
        depths.isEmpty ? (Double(i) + 0.5) / Double(samples) : depths[i % depths.count]
    }

    static func parseContext(_ s: String, field: String, modelContext: Int) throws -> Int {
        guard let v = ConfigNode.parseInt(s), v > 0 else {
            throw StarSimError.invalid(field, "'\(s)' is not a context length; expected tokens like 2K or 2048")
        }
        guard v <= modelContext else {
            throw StarSimError.invalid(field, "\(s) (\(v) tokens) is beyond the model's context of \(modelContext) tokens; expected at most \(contextLabel(modelContext))")
        }
        guard v >= 64 else { throw StarSimError.invalid(field, "\(s) is too short; expected at least 64 tokens") }
        return v
    }

    // MARK: - Validation

    /// How fields are named in messages: command-line options or suite-file fields of one part.
    public enum FieldNames: Sendable, Hashable {
        case options
        case file(part: Int)

        func name(_ option: String) -> String {
            switch self {
            case .options: return "--" + option
            case .file(let i): return "runs[\(i)].\(option)"
            }
        }
    }

    /// Checks what can be checked before the prompts exist: every Star block fits the context,
    /// every anchor fits its block, no Star run has more hosts than blocks, no ring more hosts than
    /// tokens, and every context leaves room for the query and the answer in the model's context.
    public func validate(modelContext: Int, fields: FieldNames) throws {
        guard samples >= 1 else { throw StarSimError.invalid(fields == .options ? "--samples" : "samples", "expected at least 1") }
        for (i, part) in parts.enumerated() {
            let f: FieldNames = fields == .options ? .options : .file(part: i)
            guard !part.tasks.isEmpty else { throw StarSimError.invalid(f.name("tasks"), "expected at least one task; known tasks: \(Self.knownTasks)") }
            guard !part.contexts.isEmpty else { throw StarSimError.invalid(f.name("context"), "expected at least one context length, e.g. 2K") }
            guard !part.methods.isEmpty else { throw StarSimError.invalid(f.name("methods"), "expected at least one method; known methods: \(Self.knownMethods)") }
            for context in part.contexts {
                let c = Self.contextLabel(context)
                guard context <= modelContext else {
                    throw StarSimError.invalid(f.name("context"), "\(c) (\(context) tokens) is beyond the model's context of \(modelContext) tokens; expected at most \(Self.contextLabel(modelContext))")
                }
                for m in part.methods where m.kind.isStar {
                    let block = m.block ?? (context + m.hosts - 1) / m.hosts
                    if let b = m.block, b > context {
                        throw StarSimError.invalid(f.name("block"), "\(b) is larger than the \(c) context (\(context) tokens); expected at most \(context)")
                    }
                    if let a = m.anchor, a > block {
                        throw StarSimError.invalid(f.name("anchor"), "\(a) is larger than the block (\(block) tokens at \(c) on \(m.hosts) hosts); expected at most \(block)")
                    }
                    let blocks = (context + block - 1) / block
                    if m.hosts > blocks {
                        throw StarSimError.invalid(f.name("hosts"), "\(m.hosts) hosts but a \(c) context in blocks of \(block) tokens makes only \(blocks) blocks; use at most \(blocks) hosts or a smaller block")
                    }
                }
                for m in part.methods where m.kind.isRing && m.hosts > context {
                    throw StarSimError.invalid(f.name("hosts"), "\(m.hosts) hosts but a \(c) context has only \(context) tokens")
                }
            }
            let labels = part.methods.map(\.label)
            if let dup = labels.first(where: { l in labels.filter { $0 == l }.count > 1 }) {
                throw StarSimError.invalid(f.name("methods"), "method '\(dup)' is listed twice")
            }
        }
    }

    // MARK: - Suite files

    /// Loads and validates a suite file (`scenarios/eval/*.yaml`).
    public static func load(file: String, modelContext: Int = 8192) throws -> EvaluationSuite {
        try parse(ConfigNode.load(file: file), modelContext: modelContext)
    }

    /// Validates a parsed suite file. Schema (every field but `runs` optional):
    /// ```yaml
    /// name: paper-anchor-ablation
    /// seed: 1
    /// samples: 3
    /// generate: {passkey: 8}          # per-task max new tokens
    /// answer_prefix: true             # end the query with RULER's answer prefix (default)
    /// depth: [0.9]                    # passkey depths cycled over samples (default: spread evenly)
    /// runs:
    ///   - tasks: [passkey]
    ///     context: [2K, 4K]
    ///     methods: [global, star, star-noanchor, star-prev]
    ///     hosts: [4]                  # default [4]
    ///     block: [auto]               # tokens or auto (= context / hosts)
    ///     anchor: [block]             # tokens or block (= block size)
    /// ```
    /// - Throws: `ConfigError` naming the file, line and field, or `StarSimError` naming `runs[i].field`
    ///   for cross-field problems (block larger than the context, …).
    public static func parse(_ root: ConfigNode, modelContext: Int = 8192) throws -> EvaluationSuite {
        guard root.isMapping else { throw root.error("expected a mapping with 'runs', found \(root.kind)") }
        let name = try root.string("name", default: URL(fileURLWithPath: root.file).deletingPathExtension().lastPathComponent)
        _ = try root.optional("description")?.asString()
        let seed = try root.int("seed", default: 1, range: 0...Int.max)
        let samples = try root.int("samples", default: 3, range: 1...1000)
        var generate: [EvaluationTask.Kind: Int] = [:]
        if let g = root.optional("generate") {
            guard g.isMapping else { throw g.error("expected a mapping of task → max new tokens, found \(g.kind)") }
            for key in g.keys {
                guard let kind = EvaluationTask.Kind(rawValue: key) else {
                    throw g.error("unknown task '\(key)'; known tasks: \(knownTasks)", field: key)
                }
                generate[kind] = try g.int(key, range: 1...1024)
            }
            try g.finish()
        }
        let answerPrefix = try root.bool("answer_prefix", default: defaultAnswerPrefix)
        var depths: [Double] = []
        if let d = root.optional("depth") {
            let xs = d.isList ? try d.asList() : [d]
            depths = try xs.map { x throws(ConfigError) in try x.asDouble(range: 0...1) }
        }
        let runsNode = try root.required("runs", expected: "a list of runs (tasks, context, methods)")
        let items = try runsNode.asList()
        guard !items.isEmpty else { throw runsNode.error("expected at least one run") }
        var parts: [EvaluationPart] = []
        for item in items {
            guard item.isMapping else { throw item.error("expected a mapping with tasks, context, methods, found \(item.kind)") }
            func list(_ key: String, default value: [String]) throws(ConfigError) -> [(String, ConfigNode?)] {
                guard let n = item.optional(key) else { return value.map { ($0, nil) } }
                if n.isList {
                    let xs = try n.asList()
                    guard !xs.isEmpty else { throw n.error("expected at least one value") }
                    return try xs.map { x throws(ConfigError) in (try x.asString(), x) }
                }
                return [(try n.asString(), n)]
            }
            func convert<T>(_ key: String, _ xs: [(String, ConfigNode?)], _ f: (String) throws -> T) throws -> [T] {
                try xs.map { s, node in
                    do { return try f(s) } catch let e as StarSimError {
                        // Re-throw with file, line and field: "expected …" messages of the option parser.
                        let message = e.description.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "\(e)"
                        throw (node ?? item).error(message, field: node == nil ? key : nil)
                    }
                }
            }
            let tasks = try convert("tasks", list("tasks", default: []), { try parseTask($0, field: "tasks") })
            guard !tasks.isEmpty else { throw item.error("missing; expected a list of tasks (\(knownTasks))", field: "tasks") }
            let contexts = try convert("context", list("context", default: []), { try parseContext($0, field: "context", modelContext: modelContext) })
            guard !contexts.isEmpty else { throw item.error("missing; expected a list of context lengths like [2K, 4K]", field: "context") }
            let kinds = try convert("methods", list("methods", default: []), { try parseMethodKind($0, field: "methods") })
            guard !kinds.isEmpty else { throw item.error("missing; expected a list of methods (\(knownMethods))", field: "methods") }
            let hosts = try convert("hosts", list("hosts", default: ["4"]), { try parseCount($0, field: "hosts", range: InputLimits.realRunHosts) })
            let blocks: [Int?] = try convert("block", list("block", default: ["auto"]), { $0 == "auto" ? nil : try parseCount($0, field: "block", range: 1...modelContext) })
            let anchors: [Int?] = try convert("anchor", list("anchor", default: ["block"]), { $0 == "block" ? nil : try parseCount($0, field: "anchor", range: 0...modelContext) })
            try item.finish()
            parts.append(EvaluationPart(tasks: tasks, contexts: contexts,
                                        methods: expand(kinds: kinds, hosts: hosts, blocks: blocks, anchors: anchors)))
        }
        try root.finish()
        let suite = EvaluationSuite(name: name, parts: parts, samples: samples, seed: UInt64(seed), generate: generate,
                                    answerPrefix: answerPrefix, depths: depths)
        do {
            try suite.validate(modelContext: modelContext, fields: .file(part: 0))
        } catch let e as StarSimError {
            throw StarSimError.invalid(root.file, e.description)
        }
        return suite
    }

    /// The built-in `--quick` suite: a few minutes on a 2-core machine. Passkey at 1K with the
    /// anchor ablation (global, star, star-noanchor, star-prev) and the multi-key needle at 1K
    /// with global and star, 2 samples each, 4 hosts.
    public static let quick = EvaluationSuite(
        name: "quick",
        parts: [
            EvaluationPart(tasks: [.passkey], contexts: [1024], methods: expand(
                kinds: [.global, .star, .starNoAnchor, .starPrevious], hosts: [4], blocks: [nil], anchors: [nil])),
            EvaluationPart(tasks: [.multikey], contexts: [1024], methods: expand(
                kinds: [.global, .star], hosts: [4], blocks: [nil], anchors: [nil])),
        ],
        samples: 2, seed: 1)
}
