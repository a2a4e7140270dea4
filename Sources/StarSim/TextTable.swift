/// Plain-text tables for people: left-aligned columns separated by two spaces, trailing spaces
/// trimmed. Every row has the header's column count.
public enum TextTable {
    /// One line per row (no newlines).
    public static func lines(_ rows: [[String]]) -> [String] {
        guard let first = rows.first else { return [] }
        let widths = (0..<first.count).map { col in rows.map { $0[col].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { pad($0.element, widths[$0.offset]) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
    }

    /// `s` padded with spaces to `width` characters (unchanged when longer).
    public static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }
}
