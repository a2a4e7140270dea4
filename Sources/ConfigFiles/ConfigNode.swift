import Foundation
import Yams

/// A strict, typed view of a YAML configuration file (scenarios, device and link profiles).
///
/// Every accessor names the file, the field path and (where known) the line when it fails, and says
/// what was expected. Mappings remember which keys were read so that `finish()` can reject unknown keys
/// (a typo in a scenario must not be silently ignored).
///
/// ```swift
/// let root = try ConfigNode.load(file: "scenarios/default.yaml")
/// let hosts = try root.int("hosts", default: 4, range: 1...4096)
/// try root.finish()   // throws on keys that were never read
/// ```
public final class ConfigNode: @unchecked Sendable {
    // @unchecked Sendable: a ConfigNode is used by one thread while a file is being validated; the
    // only mutable state is the set of keys read, which never escapes that validation.
    public let file: String
    public let path: String
    let node: Node
    private var consumed: Set<String> = []

    init(file: String, path: String, node: Node) {
        self.file = file
        self.path = path
        self.node = node
    }

    /// Largest configuration file read: 4 MiB (a scenario with an inline prompt is a few hundred KB).
    public static let maxFileBytes = 4 << 20
    /// Deepest nesting of mappings and lists accepted: 64 levels (the deepest file StarSim reads
    /// nests 4). Checked on the text before the YAML is composed, whose recursion would otherwise
    /// overflow the stack on input like `x: [[[[…`.
    public static let maxDepth = 64

    /// Reads a configuration file's text: a regular file of at most ``maxFileBytes``, in UTF-8
    /// (``InputFile/read(_:limit:expected:)``).
    public static func readText(file: String) throws(ConfigError) -> String {
        let data = try InputFile.read(file, limit: maxFileBytes, expected: "a YAML file")
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, field: nil, line: nil, message: "is not UTF-8 text; expected a YAML file")
        }
        return text
    }

    /// Parses a YAML file. Errors name the file and the line of a syntax error.
    public static func load(file: String) throws(ConfigError) -> ConfigNode {
        try parse(readText(file: file), file: file)
    }

    /// Parses YAML text; `file` is only used in messages. Rejects text over ``maxFileBytes``, nesting
    /// deeper than ``maxDepth`` (before composing) and duplicate keys in a mapping.
    public static func parse(_ text: String, file: String) throws(ConfigError) -> ConfigNode {
        guard text.utf8.count <= maxFileBytes else {
            throw ConfigError(file: file, field: nil, line: nil,
                              message: "is \(text.utf8.count) bytes; configuration files are limited to \(maxFileBytes) bytes (4 MiB)")
        }
        if let deep = YAMLDepth.firstTooDeep(text, limit: maxDepth) {
            throw ConfigError(file: file, field: nil, line: deep.line,
                              message: "nesting deeper than \(maxDepth) levels at line \(deep.line), column \(deep.column); expected at most \(maxDepth) levels of mappings and lists")
        }
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(file: file, field: nil, line: nil, message: "not valid YAML: \(Self.describe(error))")
        } catch {
            throw ConfigError(file: file, field: nil, line: nil, message: "not valid YAML: \(error)")
        }
        guard let root = composed else {
            throw ConfigError(file: file, field: nil, line: nil, message: "the file is empty; expected a mapping of fields")
        }
        let config = ConfigNode(file: file, path: "", node: root)
        guard case .mapping = root else {
            throw config.error("expected a mapping of fields at the top level, found \(config.kind)")
        }
        try rejectDuplicateKeys(root, file: file)
        return config
    }

    /// Most values a document may expand to, counting each use of an alias: 1,000,000.
    public static let maxNodes = 1_000_000

    /// Throws on the first mapping (depth-first) with a key given twice, naming both lines.
    private static func rejectDuplicateKeys(_ root: Node, file: String) throws(ConfigError) {
        var stack: [(Node, String)] = [(root, "")]
        var visited = 0
        while let (node, path) = stack.popLast() {
            visited += 1
            guard visited <= maxNodes else {
                throw ConfigError(file: file, field: nil, line: nil,
                                  message: "expands to more than \(maxNodes) values (through anchors and aliases); expected a smaller document")
            }
            switch node {
            case .mapping(let m):
                var seen: [String: Mark?] = [:]
                for (k, v) in m {
                    let key = k.string ?? "\(k)"
                    if let first = seen[key] {
                        let field = path.isEmpty ? key : "\(path).\(key)"
                        let at = k.mark.map { " at line \($0.line), column \($0.column)" } ?? ""
                        let firstText = first.map { " (first given at line \($0.line), column \($0.column))" } ?? ""
                        throw ConfigError(file: file, field: field, line: k.mark?.line,
                                          message: "given twice\(at)\(firstText); each field may appear once")
                    }
                    seen[key] = k.mark
                    stack.append((v, path.isEmpty ? key : "\(path).\(key)"))
                }
            case .sequence(let seq):
                for (i, v) in seq.enumerated() { stack.append((v, "\(path)[\(i)]")) }
            case .scalar:
                break
            }
        }
    }

    private static func describe(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        default:
            return "\(error)"
        }
    }

    /// 1-based line of this node in the file, when known.
    public var line: Int? { node.mark.map { $0.line } }

    /// What kind of YAML node this is, for messages.
    public var kind: String {
        switch node {
        case .scalar(let s): return "the value '\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// An error about this node (or one of its fields).
    public func error(_ message: String, field: String? = nil) -> ConfigError {
        let fieldPath = field.map { path.isEmpty ? $0 : "\(path).\($0)" } ?? (path.isEmpty ? nil : path)
        var line = self.line
        if let field, let child = rawChild(field), let l = child.mark?.line { line = l }
        return ConfigError(file: file, field: fieldPath, line: line, message: message)
    }

    // MARK: Mappings

    private func rawChild(_ key: String) -> Node? {
        guard case .mapping(let m) = node else { return nil }
        for (k, v) in m where k.string == key { return v }
        return nil
    }

    /// Keys of this mapping, in file order.
    public var keys: [String] {
        guard case .mapping(let m) = node else { return [] }
        return m.map { $0.key.string ?? "" }
    }

    public func has(_ key: String) -> Bool { rawChild(key) != nil }

    /// The child node at `key`; nil when absent. Marks the key as read.
    public func optional(_ key: String) -> ConfigNode? {
        consumed.insert(key)
        guard let child = rawChild(key) else { return nil }
        if case .scalar(let s) = child, s.tag == .implicit, ["~", "null", ""].contains(s.string) { return nil }
        return ConfigNode(file: file, path: path.isEmpty ? key : "\(path).\(key)", node: child)
    }

    /// The child node at `key`; throws when absent.
    public func required(_ key: String, expected: String) throws(ConfigError) -> ConfigNode {
        guard let child = optional(key) else { throw error("missing; expected \(expected)", field: key) }
        return child
    }

    /// Rejects keys that no accessor read. Call after reading every field of a mapping.
    public func finish() throws(ConfigError) {
        let unknown = keys.filter { !consumed.contains($0) }
        guard let first = unknown.first else { return }
        let known = consumed.sorted().joined(separator: ", ")
        let hint = Self.closest(first, among: Array(consumed)).map { " (did you mean '\($0)'?)" } ?? ""
        throw error("unknown field\(hint); known fields here: \(known)", field: first)
    }

    // MARK: Scalars

    public var string: String? { if case .scalar(let s) = node { return s.string } else { return nil } }

    public func asString(expected: String = "a string") throws(ConfigError) -> String {
        guard let s = string else { throw error("expected \(expected), found \(kind)") }
        return s
    }

    public func asInt(range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        guard let s = string, let v = Self.parseInt(s) else {
            throw error("expected an integer\(Self.rangeText(range)), found \(kind)")
        }
        if let range, !range.contains(v) { throw error("\(v) is out of range; expected\(Self.rangeText(range))") }
        return v
    }

    public func asDouble(range: ClosedRange<Double>? = nil) throws(ConfigError) -> Double {
        guard let s = string, let v = Self.parseDouble(s), v.isFinite else {
            throw error("expected a number\(Self.rangeText(range)), found \(kind)")
        }
        if let range, !range.contains(v) { throw error("\(String(format: "%g", v)) is out of range; expected a number\(Self.rangeText(range))") }
        return v
    }

    public func asBool() throws(ConfigError) -> Bool {
        switch string?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found \(kind)")
        }
    }

    public func asList() throws(ConfigError) -> [ConfigNode] {
        guard case .sequence(let seq) = node else { throw error("expected a list, found \(kind)") }
        return seq.enumerated().map { ConfigNode(file: file, path: "\(path)[\($0.offset)]", node: $0.element) }
    }

    public var isMapping: Bool { if case .mapping = node { return true } else { return false } }
    public var isList: Bool { if case .sequence = node { return true } else { return false } }

    /// One of a fixed set of names.
    public func asChoice<T>(_ choices: KeyValuePairs<String, T>) throws(ConfigError) -> T {
        let s = try asString(expected: "one of " + choices.map { $0.key }.joined(separator: ", "))
        for (k, v) in choices where k == s { return v }
        throw error("'\(s)' is not one of: " + choices.map { $0.key }.joined(separator: ", "))
    }

    // MARK: Convenience on fields

    public func string(_ key: String, default value: String? = nil) throws(ConfigError) -> String {
        guard let c = optional(key) else {
            if let value { return value }
            throw error("missing; expected a string", field: key)
        }
        return try c.asString()
    }

    public func int(_ key: String, default value: Int? = nil, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        guard let c = optional(key) else {
            if let value { return value }
            throw error("missing; expected an integer\(Self.rangeText(range))", field: key)
        }
        return try c.asInt(range: range)
    }

    public func double(_ key: String, default value: Double? = nil, range: ClosedRange<Double>? = nil) throws(ConfigError) -> Double {
        guard let c = optional(key) else {
            if let value { return value }
            throw error("missing; expected a number\(Self.rangeText(range))", field: key)
        }
        return try c.asDouble(range: range)
    }

    public func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let c = optional(key) else { return value }
        return try c.asBool()
    }

    // MARK: Parsing helpers

    /// Integers with optional `_` separators and a K/M/G suffix (powers of 1024 for token counts:
    /// `128K` = 131072), e.g. `4096`, `32_768`, `128K`, `1M`.
    public static func parseInt(_ text: String) -> Int? {
        var s = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
        var scale = 1
        if let last = s.last, "kKmMgG".contains(last) {
            scale = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30][last.lowercased()]!
            s.removeLast()
        }
        guard let v = Int(s) else { return nil }
        let (r, overflow) = v.multipliedReportingOverflow(by: scale)
        return overflow ? nil : r
    }

    public static func parseDouble(_ text: String) -> Double? {
        Double(text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: ""))
    }

    static func rangeText<T: Comparable>(_ range: ClosedRange<T>?) -> String {
        guard let range else { return "" }
        func text(_ x: T) -> String {
            if let d = x as? Double { return String(format: "%g", d) }
            return "\(x)"
        }
        return " in \(text(range.lowerBound))...\(text(range.upperBound))"
    }

    /// The candidate within edit distance 2 of `word`, if any (for "did you mean").
    static func closest(_ word: String, among candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for i in 1...max(a.count, 1) where !a.isEmpty {
                var prev = row[0]; row[0] = i
                for j in 1...max(b.count, 1) where !b.isEmpty {
                    let tmp = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                    prev = tmp
                }
            }
            return a.isEmpty ? b.count : row[b.count]
        }
        let w = Array(word)
        return candidates.map { ($0, distance(w, Array($0))) }.filter { $0.1 <= 2 }
            .sorted { ($0.1, $0.0) < ($1.1, $1.0) }.first?.0
    }
}

/// A problem in a configuration file: which file, which field, which line, and what was expected.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let field: String?
    public let line: Int?
    public let message: String

    public init(file: String, field: String?, line: Int?, message: String) {
        self.file = file
        self.field = field
        self.line = line
        self.message = message
    }

    public var description: String {
        var where_ = file
        if let line { where_ += ":\(line)" }
        if let field { where_ += ": field '\(field)'" }
        return "\(where_): \(message)"
    }
}
