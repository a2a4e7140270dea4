/// RFC 4180 CSV, the one spelling every report uses: fields holding a comma, quote, CR or LF are
/// quoted (quotes doubled); rows end with `\n`.
public enum CSV {
    /// One field, quoted when it must be.
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A whole document: the header row, then one row per element of `rows`.
    public static func document(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map { $0.map(field).joined(separator: ",") + "\n" }.joined()
    }
}
