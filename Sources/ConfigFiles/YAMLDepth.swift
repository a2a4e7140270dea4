/// An upper bound on the nesting depth of YAML text, computed line by line without composing it
/// (composing recurses once per level, so very deep input must be refused first).
///
/// Depth on a line = open block levels (a stack of indentation columns, as YAML's block structure)
/// + compact `- ` entries at the start of the content + open flow collections (`[`, `{`, which may
/// span lines). Quoted strings and comments are skipped; the lines of a block scalar (`|`, `>`) are
/// text, not structure.
enum YAMLDepth {
    /// The first (line, column) where the bound exceeds `limit`, both 1-based; nil when within it.
    static func firstTooDeep(_ text: String, limit: Int) -> (line: Int, column: Int)? {
        var indents: [Int] = []
        var flow = 0
        var blockScalarIndent: Int?  // indentation of the line that opened a block scalar
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Array(rawLine.utf8)
            var i = 0
            while i < line.count, line[i] == UInt8(ascii: " ") { i += 1 }
            let indent = i
            let blank = i == line.count || line[i] == UInt8(ascii: "#") || line[i] == UInt8(ascii: "\r")
            if let open = blockScalarIndent {
                if blank || indent > open { continue }
                blockScalarIndent = nil
            }
            if blank { continue }
            if flow == 0 {
                while let top = indents.last, top > indent { indents.removeLast() }
                if indents.last != indent { indents.append(indent) }
            }
            var dashes = 0
            while i + 1 < line.count, line[i] == UInt8(ascii: "-"), line[i + 1] == UInt8(ascii: " ") {
                dashes += 1
                i += 2
                while i < line.count, line[i] == UInt8(ascii: " ") { i += 1 }
            }
            var quote: UInt8?
            var previous: UInt8 = UInt8(ascii: " ")
            while i < line.count {
                let c = line[i]
                if let q = quote {
                    if c == q {
                        if q == UInt8(ascii: "'"), i + 1 < line.count, line[i + 1] == q { i += 1 } else { quote = nil }
                    } else if c == UInt8(ascii: "\\"), q == UInt8(ascii: "\"") {
                        i += 1
                    }
                } else {
                    switch c {
                    case UInt8(ascii: "#") where previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\t"):
                        i = line.count
                        continue
                    case UInt8(ascii: "\""), UInt8(ascii: "'"):
                        if previous == UInt8(ascii: " ") || previous == UInt8(ascii: "[") || previous == UInt8(ascii: "{")
                            || previous == UInt8(ascii: ",") || previous == UInt8(ascii: ":") || i == indent {
                            quote = c
                        }
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        flow += 1
                        if indents.count + dashes + flow > limit { return (lineNumber, i + 1) }
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        flow = max(0, flow - 1)
                    default:
                        break
                    }
                }
                previous = c
                i += 1
            }
            if indents.count + dashes + flow > limit { return (lineNumber, indent + 1) }
            // `key: |`, `- >-`, `|2`: the following more-indented lines are a block scalar.
            if quote == nil, flow == 0, isBlockScalarHeader(line) {
                blockScalarIndent = indent
            }
        }
        return nil
    }

    /// True when the line's content ends with a block scalar indicator (`|` or `>`, optionally with
    /// chomping `+`/`-` and an indentation digit), after `: `, `- ` or at its start.
    private static func isBlockScalarHeader(_ line: [UInt8]) -> Bool {
        var end = line.count
        // Drop a trailing comment and spaces.
        if let hash = line.indices.first(where: { line[$0] == UInt8(ascii: "#") && ($0 == 0 || line[$0 - 1] == UInt8(ascii: " ")) }) {
            end = hash
        }
        while end > 0, line[end - 1] == UInt8(ascii: " ") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var j = end
        while j > 0, line[j - 1] == UInt8(ascii: "+") || line[j - 1] == UInt8(ascii: "-")
            || (line[j - 1] >= UInt8(ascii: "0") && line[j - 1] <= UInt8(ascii: "9")) { j -= 1 }
        guard j > 0, line[j - 1] == UInt8(ascii: "|") || line[j - 1] == UInt8(ascii: ">"), end - j <= 2 else { return false }
        let before = j - 1
        return before == 0 || line[before - 1] == UInt8(ascii: " ")
    }
}
