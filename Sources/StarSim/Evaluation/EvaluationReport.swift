import Foundation

/// Accuracy of one method on one (task, context) cell, averaged over its samples.
public struct EvaluationCell: Sendable, Hashable, Codable {
    public var task: String
    public var context: Int
    public var method: EvaluationMethod
    public var samples: Int
    /// Mean RULER score, 0…1.
    public var accuracy: Double
    /// `accuracy / global accuracy` of the same cell; nil when global did not run or scored 0.
    public var relativeToGlobal: Double?
    /// Samples whose decoded answer is identical to global's answer on the same prompt (ring is
    /// exact, so it must match every time); nil for global itself or when global did not run.
    /// Useful where the model is too weak for accuracy to separate the methods.
    public var sameAnswerAsGlobal: Int?
}

/// Results of a suite and their summaries: the table, JSON and CSV of `starsim eval`.
public struct EvaluationReport: Sendable, Codable {
    public var suite: String
    public var model: String
    public var samples: Int
    /// Wall seconds of the whole suite on this machine.
    public var wallSeconds: Double
    public var results: [EvaluationResult]
    public var cells: [EvaluationCell]

    public init(suite: String, model: String, samples: Int, wallSeconds: Double, results: [EvaluationResult]) {
        self.suite = suite
        self.model = model
        self.samples = samples
        self.wallSeconds = wallSeconds
        self.results = results
        self.cells = Self.cells(results)
    }

    /// `star / global`; nil ("n/a") when global is missing or 0 — never a division by zero.
    public static func relative(_ accuracy: Double, to global: Double?) -> Double? {
        guard let global, global > 0 else { return nil }
        return accuracy / global
    }

    /// Groups results by (task, context, method) in first-seen order and averages their scores.
    public static func cells(_ results: [EvaluationResult]) -> [EvaluationCell] {
        struct Key: Hashable { var task: String; var context: Int; var method: EvaluationMethod }
        var order: [Key] = []
        var groups: [Key: [EvaluationResult]] = [:]
        for r in results {
            let k = Key(task: r.task, context: r.context, method: r.method)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(r)
        }
        return order.map { k in
            let rs = groups[k]!
            let accuracy = rs.map(\.score).reduce(0, +) / Double(rs.count)
            let global = groups.first { $0.key.task == k.task && $0.key.context == k.context && $0.key.method.kind == .global }?.value
            let globalAccuracy = global.map { $0.map(\.score).reduce(0, +) / Double($0.count) }
            var same: Int?
            if k.method.kind != .global, let global {
                same = rs.filter { r in global.contains { $0.sample == r.sample && $0.output == r.output } }.count
            }
            return EvaluationCell(
                task: k.task, context: k.context, method: k.method, samples: rs.count, accuracy: accuracy,
                relativeToGlobal: k.method.kind == .global ? nil : relative(accuracy, to: globalAccuracy),
                sameAnswerAsGlobal: same)
        }
    }

    /// `0.6667` → `66.7`.
    public static func percent(_ x: Double) -> String { String(format: "%.1f", x * 100) }

    /// The text table: one row per (task, context, method), then the mean over tasks per
    /// (context, method) where a method ran on several tasks.
    public var table: String {
        let (rows, means) = tableRows
        let all = rows + means
        let widths = (0..<rows[0].count).map { i in all.map { $0[i].count }.max()! }
        let numeric: Set<Int> = [3, 6, 7, 9]
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, s in
                let pad = String(repeating: " ", count: widths[i] - s.count)
                return numeric.contains(i) ? pad + s : s + pad
            }.joined(separator: "  ").replacingOccurrences(of: " +$", with: "", options: .regularExpression)
        }
        var out = [line(rows[0]), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.dropFirst().map(line)
        if !means.isEmpty { out.append(""); out += means.map(line) }
        return out.joined(separator: "\n") + "\n"
    }

    /// Header + one row per cell, and the mean rows.
    var tableRows: (rows: [[String]], means: [[String]]) {
        var rows: [[String]] = [["task", "context", "method", "hosts", "block", "anchor", "n", "accuracy %", "vs global", "same answer"]]
        func vs(_ c: EvaluationCell) -> String {
            if c.method.kind == .global { return "-" }
            return c.relativeToGlobal.map { String(format: "%.0f%%", $0 * 100) } ?? "n/a"
        }
        for c in cells {
            rows.append([c.task, EvaluationSuite.contextLabel(c.context), c.method.label, "\(c.method.hosts)",
                         c.method.blockText, c.method.anchorText, "\(c.samples)", Self.percent(c.accuracy), vs(c),
                         c.sameAnswerAsGlobal.map { "\($0)/\(c.samples)" } ?? "-"])
        }
        // Means over tasks, per (context, method), when a method covers more than one task.
        struct Key: Hashable { var context: Int; var method: EvaluationMethod }
        var order: [Key] = []
        var groups: [Key: [EvaluationCell]] = [:]
        for c in cells {
            let k = Key(context: c.context, method: c.method)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(c)
        }
        var means: [[String]] = []
        for k in order where groups[k]!.count > 1 {
            let cs = groups[k]!
            let mean = cs.map(\.accuracy).reduce(0, +) / Double(cs.count)
            let global = groups.first { $0.key.context == k.context && $0.key.method.kind == .global && $0.value.count == cs.count }
            let globalMean = global.map { $0.value.map(\.accuracy).reduce(0, +) / Double($0.value.count) }
            let rel = k.method.kind == .global ? "-" : (Self.relative(mean, to: globalMean).map { String(format: "%.0f%%", $0 * 100) } ?? "n/a")
            let n = cs.map(\.samples).reduce(0, +)
            let same = cs.allSatisfy { $0.sameAnswerAsGlobal != nil } ? "\(cs.compactMap(\.sameAnswerAsGlobal).reduce(0, +))/\(n)" : "-"
            means.append(["mean of \(cs.count) tasks", EvaluationSuite.contextLabel(k.context), k.method.label, "\(k.method.hosts)",
                          k.method.blockText, k.method.anchorText, "\(n)", Self.percent(mean), rel, same])
        }
        return (rows, means)
    }

    /// The same table as Markdown (for Docs/Evaluation.md).
    public var markdownTable: String {
        let (rows, means) = tableRows
        var out = ["| " + rows[0].joined(separator: " | ") + " |", "|" + String(repeating: "---|", count: rows[0].count)]
        out += (rows.dropFirst() + means).map { "| " + $0.joined(separator: " | ") + " |" }
        return out.joined(separator: "\n") + "\n"
    }

    /// Pretty JSON with sorted keys: suite, model, samples, wallSeconds, cells, results.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// One line per sample (RFC 4180 quoting).
    public var csv: String {
        CSV.document(
            header: ["task", "context", "context_tokens", "query_tokens", "method", "kind", "hosts", "block", "anchor", "sample",
                     "seed", "depth", "score", "seconds", "expected", "output"],
            rows: results.map { r in [
                r.task, "\(r.context)", "\(r.contextTokens)", "\(r.queryTokens)", r.method.label, r.method.kind.rawValue,
                "\(r.method.hosts)", r.blockTokens.map(String.init) ?? "", r.anchorTokens.map(String.init) ?? "",
                "\(r.sample)", "\(r.seed)", r.depth.map { String(format: "%.4f", $0) } ?? "", String(format: "%.4f", r.score), String(format: "%.2f", r.seconds),
                r.expected.joined(separator: ";"), r.output,
            ] })
    }
}
