import Cluster
import ConfigFiles
import DistributedAttention
import Foundation

/// A whole run as a user describes it in `scenarios/*.yaml`. See `Docs/Scenarios.md` for the schema.
///
/// Parsing validates every field (type, range, known names) and rejects unknown fields; checks that
/// need the model or the tokenized prompt (block larger than the context, prompt longer than the
/// model's context) happen when the run is planned, and name the scenario field too.
public struct Scenario: Sendable, Hashable {
    public enum Timing: String, Sendable, Hashable { case modeled, measured }

    /// What the model reads.
    public enum Prompt: Sendable, Hashable {
        /// A passkey hidden at `depth` (0…1) of roughly `contextTokens` tokens of filler.
        case passkey(contextTokens: Int, depth: Double, passkey: Int?)
        /// A synthetic long-context task from the evaluation suite.
        case task(name: String, contextTokens: Int)
        /// Free text: `context` becomes the distributed context, `question` the query (in `completion`
        /// format a newline goes before the question; in `chat` the model's template wraps both).
        case text(context: String, question: String, expected: String?)
        /// Text used exactly as given: `context` and `query` are tokenized separately, nothing added.
        case raw(context: String, query: String, expected: String?)
        /// Token ids used exactly as given (inline or from a JSON file `{"context": [...], "query": [...]}`).
        case tokens(context: [Int32], query: [Int32], expected: String?)
    }

    public struct Cluster: Sendable, Hashable {
        /// Cluster sizes to run every method on (`hosts: 4` or `hosts: [2, 4, 8]`); global runs once, on one host.
        public var hostCounts: [Int] = [4]
        /// The largest cluster size (the one faults and profiles are checked against).
        public var hosts: Int {
            get { hostCounts.max() ?? 1 }
            set { hostCounts = [newValue] }
        }
        public var gpusPerHost: Int = 1
        /// Device profile name (see `starsim profiles`).
        public var device: String = "cpu-local"
        public var intraHostLink: String = "nvlink-a100"
        public var interHostLink: String = "ib-hdr"
        public var shape: String = "fully-connected"
        public init() {}
    }

    public var file: String
    public var name: String
    public var description: String?
    /// Path of a GGUF file; nil = the default SmolLM2 file (see `StarSimPaths`).
    public var modelFile: String?
    public var seed: UInt64
    public var prompt: Prompt
    /// `completion` (default) or `chat` (the model's chat template, as the paper).
    public var promptFormat: ModelSession.PromptFormat
    public var cluster: Cluster
    public var methods: [MethodSpec]
    /// Maximum generated tokens (generation also stops at end of turn).
    public var generateTokens: Int
    public var timing: Timing
    /// Directory for Chrome traces; nil = no trace.
    public var traceDirectory: String?
    /// Print the text timeline (small runs only).
    public var timeline: Bool
    /// Slow or failed links, stragglers, lost hosts (`faults:`, `Docs/Faults.md`); none by default.
    public var faults: FaultPlan = .none

    /// Loads and validates a scenario file.
    public static func load(file: String) throws(ConfigError) -> Scenario {
        try parse(ConfigNode.load(file: file))
    }

    /// Validates an already parsed YAML document.
    public static func parse(_ root: ConfigNode) throws(ConfigError) -> Scenario {
        let file = root.file
        let name = try root.string("name", default: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent)
        // The name starts every trace file name, so it must be a file name (no path separators, no `..`).
        if let problem = OutputDirectory.problem(withName: name) {
            throw root.error("'\(name)' \(problem); expected a short name (it starts the trace file names)", field: "name")
        }
        let description = try root.optional("description")?.asString()
        let modelFile = try root.optional("model")?.asString(expected: "a path to a GGUF file")
        let seed = try root.int("seed", default: 1, range: 0...Int.max)
        let promptNode = try root.required("prompt", expected: "a mapping with 'kind' (passkey, task or text)")
        let format = try promptNode.isMapping
            ? (promptNode.optional("format")?.asChoice(["completion": ModelSession.PromptFormat.completion, "chat": .chat]) ?? .completion)
            : .completion
        let prompt = try parsePrompt(promptNode)
        let cluster = try parseCluster(root.optional("cluster"))
        let methods = try parseMethods(root.required("methods", expected: "a list of methods (global, star, ring)"))
        let generate = try root.int("generate", default: 16, range: InputLimits.realRunGeneratedTokens)
        let timing = try root.optional("timing")?.asChoice(["modeled": Timing.modeled, "measured": .measured]) ?? .modeled
        let trace = try root.optional("trace")?.asString(expected: "a directory for trace files")
        let timeline = try root.bool("timeline", default: false)
        let faults = try root.optional("faults").map { n throws(ConfigError) in try FaultSection.parse(n) } ?? .none
        // A projected comparison for `starsim compare` (checked here so that `run` does not carry a broken one).
        if let c = root.optional("compare") { _ = try PatternComparison.Section.parse(c) }
        try root.finish()
        return Scenario(
            file: file, name: name, description: description, modelFile: modelFile, seed: UInt64(seed),
            prompt: prompt, promptFormat: format, cluster: cluster, methods: methods, generateTokens: generate, timing: timing,
            traceDirectory: trace, timeline: timeline, faults: faults)
    }

    static func parsePrompt(_ node: ConfigNode) throws(ConfigError) -> Prompt {
        guard node.isMapping else { throw node.error("expected a mapping with 'kind', found \(node.kind)") }
        let kind = try node.required("kind", expected: "passkey, task, text, raw or tokens")
            .asChoice(["passkey": 0, "task": 1, "text": 2, "raw": 3, "tokens": 4])
        let prompt: Prompt
        switch kind {
        case 0:
            prompt = .passkey(
                contextTokens: try node.int("context_tokens", default: 4000, range: 64...1_000_000),
                depth: try node.double("depth", default: 0.5, range: 0...1),
                passkey: try node.optional("passkey")?.asInt(range: 10_000...99_999))
        case 1:
            let task = try node.required("task", expected: "a task name").asString()
            guard EvaluationTask.Kind(rawValue: task) != nil else {
                throw node.error("'\(task)' is not a known task; known: "
                    + EvaluationTask.Kind.allCases.map(\.rawValue).joined(separator: ", "), field: "task")
            }
            prompt = .task(name: task, contextTokens: try node.int("context_tokens", default: 4000, range: 64...1_000_000))
        case 2:
            let context = try node.required("context", expected: "the context text").asString()
            let question = try node.required("question", expected: "the question text").asString()
            guard !question.isEmpty else { throw node.error("must not be empty", field: "question") }
            prompt = .text(context: context, question: question, expected: try node.optional("expected")?.asString())
        case 3:
            let context = try node.required("context", expected: "the context text, used as given").asString()
            let query = try node.required("query", expected: "the query text, used as given (nothing is added)").asString()
            guard !query.isEmpty else { throw node.error("must not be empty", field: "query") }
            prompt = .raw(context: context, query: query, expected: try node.optional("expected")?.asString())
        default:
            prompt = try parseTokens(node)
        }
        if kind >= 3, let f = node.optional("format"), try f.asString() != "completion" {
            throw f.error("raw and tokens prompts are used exactly as given; no chat template is applied (remove format)")
        }
        try node.finish()
        return prompt
    }

    /// `kind: tokens` with `context_ids` and `query_ids` lists, or `file` (JSON `{"context": [...],
    /// "query": [...]}`, relative to the scenario). Ids are checked against the vocabulary when the
    /// model is loaded.
    static func parseTokens(_ node: ConfigNode) throws(ConfigError) -> Prompt {
        let limit = 0...Int(Int32.max)
        let expected = try node.optional("expected")?.asString()
        if let f = node.optional("file") {
            if node.has("context_ids") || node.has("query_ids") {
                throw f.error("give either file or context_ids and query_ids, not both")
            }
            let name = try f.asString(expected: "a JSON file with context and query token ids")
            let path = name.hasPrefix("/") ? name : (node.file as NSString).deletingLastPathComponent.isEmpty
                ? name : (node.file as NSString).deletingLastPathComponent + "/" + name
            let data = try InputFile.read(path, limit: 64 << 20, expected: "a JSON token file")
            struct Ids: Decodable { var context: [Int64]; var query: [Int64] }
            let ids: Ids
            do { ids = try JSONDecoder().decode(Ids.self, from: data) } catch {
                throw f.error("\(path): expected JSON {\"context\": [ids…], \"query\": [ids…]}: \(error)")
            }
            guard !ids.query.isEmpty else { throw f.error("\(path): the query has no token") }
            for (what, list) in [("context", ids.context), ("query", ids.query)] {
                if let bad = list.first(where: { !limit.contains(Int($0)) }) {
                    throw f.error("\(path): \(what) id \(bad) is not a token id (0 … \(Int32.max))")
                }
            }
            return .tokens(context: ids.context.map { Int32($0) }, query: ids.query.map { Int32($0) }, expected: expected)
        }
        let context = try node.required("context_ids", expected: "a list of token ids (or file: ids.json)").asList()
            .map { n throws(ConfigError) in Int32(try n.asInt(range: limit)) }
        let query = try node.required("query_ids", expected: "a list of token ids").asList()
            .map { n throws(ConfigError) in Int32(try n.asInt(range: limit)) }
        guard !query.isEmpty else { throw node.error("must not be empty", field: "query_ids") }
        return .tokens(context: context, query: query, expected: expected)
    }

    /// A `phase2:` value, spelled as `Phase2Pattern`'s raw values (the one spelling everywhere).
    static func phase2Pattern(_ node: ConfigNode) throws(ConfigError) -> Phase2Pattern {
        let names = Phase2Pattern.allCases.map(\.rawValue).joined(separator: ", ")
        let text = try node.asString(expected: "one of \(names)")
        guard let pattern = Phase2Pattern(rawValue: text) else { throw node.error("'\(text)' is not one of: \(names)") }
        return pattern
    }

    static func parseCluster(_ node: ConfigNode?) throws(ConfigError) -> Cluster {
        var c = Cluster()
        guard let node else { return c }
        guard node.isMapping else { throw node.error("expected a mapping, found \(node.kind)") }
        if let h = node.optional("hosts") {
            if h.isList {
                let list = try h.asList().map { n throws(ConfigError) in try n.asInt(range: InputLimits.realRunHosts) }
                guard !list.isEmpty else { throw h.error("expected at least one host count") }
                if let twice = list.first(where: { x in list.filter { $0 == x }.count > 1 }) {
                    throw h.error("\(twice) is given twice; list each cluster size once")
                }
                c.hostCounts = list
            } else {
                c.hostCounts = [try h.asInt(range: InputLimits.realRunHosts)]
            }
        }
        c.gpusPerHost = try node.int("gpus_per_host", default: c.gpusPerHost, range: InputLimits.gpusPerHost)
        c.device = try node.string("device", default: c.device)
        c.intraHostLink = try node.string("intra_host_link", default: c.intraHostLink)
        c.interHostLink = try node.string("inter_host_link", default: c.interHostLink)
        c.shape = try node.optional("shape")?.asChoice(["fully-connected": "fully-connected", "ring": "ring"]) ?? c.shape
        try node.finish()
        return c
    }

    static func parseMethods(_ node: ConfigNode) throws(ConfigError) -> [MethodSpec] {
        let items = try node.asList()
        guard !items.isEmpty else { throw node.error("expected at least one method (global, star, ring)") }
        var methods: [MethodSpec] = []
        for item in items {
            // `- global` or `- star: {block: 1024}`
            if let name = item.string {
                methods.append(try method(named: name, options: nil, at: item))
            } else if item.isMapping, item.keys.count == 1, let name = item.keys.first {
                methods.append(try method(named: name, options: item.optional(name), at: item))
            } else {
                throw item.error("expected a method name (\(MethodKind.allCases.map(\.rawValue).joined(separator: ", "))) or a one-key mapping like 'star: {block: 1024}'")
            }
            if let first = methods.dropLast().firstIndex(of: methods.last!) {
                throw item.error("the same method as methods[\(first)]; each method (with its options) may appear once")
            }
        }
        return methods
    }

    static func method(named name: String, options: ConfigNode?, at item: ConfigNode) throws(ConfigError) -> MethodSpec {
        guard let kind = MethodKind(rawValue: name) else {
            throw item.error("unknown method '\(name)'; expected one of: \(MethodKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        switch MethodSpec(kind: kind) {
        case .global:
            if let options, options.isMapping { try options.finish() }
            return .global
        case .ulysses(var o):
            if let options {
                guard options.isMapping else { throw options.error("expected a mapping of \(kind.rawValue) options, found \(options.kind)") }
                if kind == .ulysses, let key = options.keys.first {
                    throw options.error("ulysses takes no options (found '\(key)'); `usp: {ring-degree: R}` adds a ring across groups of hosts")
                }
                if let r = options.optional("ring-degree") {
                    o.ringDegree = try r.asInt(range: 1...InputLimits.hosts.upperBound)
                }
                try options.finish()
            }
            return .ulysses(o)
        case .apb(var o):
            if let options {
                guard options.isMapping else { throw options.error("expected a mapping of apb options, found \(options.kind)") }
                o.anchorSize = try options.optional("anchor")?.asInt(range: 1...InputLimits.contextTokens.upperBound)
                o.passingSize = try options.optional("passing")?.asInt(range: 1...InputLimits.contextTokens.upperBound)
                if let s = options.optional("selection") {
                    o.selection = try s.asChoice(["snapkv": .snapKV, "recent": .recent])
                }
                if let w = options.optional("window") { o.window = try w.asInt(range: 1...InputLimits.contextTokens.upperBound) }
                if let p = options.optional("phase2") { o.phase2 = try Self.phase2Pattern(p) }
                try options.finish()
            }
            return .apb(o)
        case .star(var o):
            if let options {
                guard options.isMapping else { throw options.error("expected a mapping of star options, found \(options.kind)") }
                o.blockSize = try options.optional("block")?.asInt(range: InputLimits.contextTokens)
                if kind != .starNoAnchor {
                    o.anchorSize = try options.optional("anchor")?.asInt(range: 0...InputLimits.contextTokens.upperBound)
                }
                if let s = options.optional("anchor_source") {
                    o.anchorSource = try s.asChoice(["first-block": .firstBlock, "previous-block": .previousBlock])
                }
                if let q = options.optional("query_host") {
                    o.queryHost = q.string == "last" ? nil : try q.asInt(range: 0...(InputLimits.realRunHosts.upperBound - 1))
                }
                if let p = options.optional("phase2") {
                    o.phase2 = try Self.phase2Pattern(p)
                }
                try options.finish()
            }
            return .star(o)
        case .ring(var o):
            if let options {
                guard options.isMapping else { throw options.error("expected a mapping of ring options, found \(options.kind)") }
                if let p = options.optional("partition") {
                    o.partition = try p.asChoice(["contiguous": .contiguous, "zigzag": .zigzag, "striped": .striped])
                }
                if let e = options.optional("exchange") {
                    o.exchange = try e.asChoice(["ring": .ring, "all-gather": .allGather, "pass-q": .passQ])
                }
                if let d = options.optional("decode") {
                    o.decode = try d.asChoice(["phase2": .phase2, "last-host": .lastHost])
                }
                if let c = options.optional("cached") {
                    o.cachedLength = try c.asInt(range: 0...InputLimits.contextTokens.upperBound)
                }
                if let p = options.optional("phase2") {
                    o.phase2 = try Self.phase2Pattern(p)
                }
                try options.finish()
            }
            return .ring(o)
        }
    }
}
