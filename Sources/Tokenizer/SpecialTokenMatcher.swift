/// Finds special tokens (`<|im_start|>` …) in UTF-8 text, leftmost-longest, without overlap.
///
/// Candidates are grouped by first byte; at each byte offset the longest candidate that matches
/// wins (Hugging Face `AddedVocabulary` uses leftmost-longest too). A match of a whole valid UTF-8
/// string inside valid UTF-8 text always starts and ends on scalar boundaries.
///
/// - Complexity: O(n · c · m) worst case for n text bytes, c candidates per first byte, m token
///   length; a table lookup per byte when the byte starts no candidate.
struct SpecialTokenMatcher: Sendable {
    private struct Candidate: Sendable {
        var bytes: [UInt8]
        var id: Int32
        var isControl: Bool
    }

    /// First byte → candidates, longest first.
    private let byFirstByte: [[Candidate]]
    /// All special ids, ascending.
    let ids: [Int32]

    init(_ list: [(bytes: [UInt8], id: Int32, control: Bool)]) {
        var table = [[Candidate]](repeating: [], count: 256)
        for item in list {
            table[Int(item.bytes[0])].append(Candidate(bytes: item.bytes, id: item.id, isControl: item.control))
        }
        for i in 0..<256 { table[i].sort { $0.bytes.count > $1.bytes.count || ($0.bytes.count == $1.bytes.count && $0.id < $1.id) } }
        byFirstByte = table
        ids = list.map(\.id).sorted()
    }

    /// Calls `body(byteRange, id)` for each match, in order.
    /// - Parameter includeControl: whether control tokens match (user-defined ones always do).
    func forEachMatch(
        in text: UnsafeBufferPointer<UInt8>, includeControl: Bool, _ body: (Range<Int>, Int32) -> Void
    ) {
        if ids.isEmpty { return }
        var p = 0
        let n = text.count
        outer: while p < n {
            let candidates = byFirstByte[Int(text[p])]
            if !candidates.isEmpty {
                for c in candidates where (includeControl || !c.isControl) && p + c.bytes.count <= n {
                    var k = 1
                    while k < c.bytes.count && text[p + k] == c.bytes[k] { k += 1 }
                    if k == c.bytes.count {
                        body(p..<(p + k), c.id)
                        p += k
                        continue outer
                    }
                }
            }
            p += 1
        }
    }
}
