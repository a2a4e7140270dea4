/// The merge table of a byte-level BPE vocabulary, and the merge loop over one word.
///
/// A merge `"A B"` at line `r` (its *rank*; lower merges first) turns adjacent tokens `A`, `B` into
/// the token `AB`. Encoding a word starts from one token per byte and repeatedly applies the
/// lowest-ranked merge present, leftmost first, until none applies — Hugging Face `tokenizers`'
/// `Word::merge_all` order (and GPT-2's).
///
/// - Complexity: O(n log n) per word of n bytes: a binary heap of candidate pairs keyed by
///   (rank, position) over a doubly linked symbol list; stale heap entries are skipped on pop.
struct BPEMerges: Sendable {
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    private let table: [UInt64: UInt64]

    var count: Int { table.count }

    init(table: [UInt64: UInt64]) { self.table = table }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// (rank, merged id) for the pair, or nil when the pair never merges.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: UInt32, merged: Int32)? {
        guard let v = table[Self.key(left, right)] else { return nil }
        return (UInt32(truncatingIfNeeded: v >> 32), Int32(bitPattern: UInt32(truncatingIfNeeded: v)))
    }

    /// Reusable buffers for `merge`.
    struct Scratch {
        var symbols: [Int32] = []
        var next: [Int32] = []
        var prev: [Int32] = []
        /// Min-heap of (rank << 32 | position).
        var heap: [UInt64] = []
    }

    /// Applies all merges to `symbols` (one token id per byte of a word) and appends the result to
    /// `output`.
    func merge(_ initial: UnsafeBufferPointer<Int32>, scratch s: inout Scratch, output: inout [Int32]) {
        let n = initial.count
        if n == 1 {
            output.append(initial[0])
            return
        }
        if n == 2 {
            if let m = lookup(initial[0], initial[1]) {
                output.append(m.merged)
            } else {
                output.append(initial[0]); output.append(initial[1])
            }
            return
        }
        s.symbols.removeAll(keepingCapacity: true)
        s.symbols.append(contentsOf: initial)
        s.next.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.heap.removeAll(keepingCapacity: true)
        for i in 0..<n {
            s.next.append(i + 1 < n ? Int32(i + 1) : -1)
            s.prev.append(Int32(i - 1))
        }
        for i in 0..<(n - 1) {
            if let m = lookup(s.symbols[i], s.symbols[i + 1]) {
                Self.push(&s.heap, UInt64(m.rank) << 32 | UInt64(i))
            }
        }
        while let top = Self.pop(&s.heap) {
            let rank = UInt32(truncatingIfNeeded: top >> 32)
            let pos = Int(UInt32(truncatingIfNeeded: top))
            let nxt = s.next[pos]
            // Stale: pos was absorbed (symbols[pos] == -1), or it is now last, or its pair changed.
            guard s.symbols[pos] >= 0, nxt >= 0,
                let m = lookup(s.symbols[pos], s.symbols[Int(nxt)]), m.rank == rank
            else { continue }
            s.symbols[pos] = m.merged
            s.symbols[Int(nxt)] = -1
            let after = s.next[Int(nxt)]
            s.next[pos] = after
            if after >= 0 { s.prev[Int(after)] = Int32(pos) }
            let before = s.prev[pos]
            if before >= 0, let l = lookup(s.symbols[Int(before)], m.merged) {
                Self.push(&s.heap, UInt64(l.rank) << 32 | UInt64(before))
            }
            if after >= 0, let r = lookup(m.merged, s.symbols[Int(after)]) {
                Self.push(&s.heap, UInt64(r.rank) << 32 | UInt64(pos))
            }
        }
        var i: Int32 = 0
        while i >= 0 {
            output.append(s.symbols[Int(i)])
            i = s.next[Int(i)]
        }
    }

    @inline(__always)
    private static func push(_ heap: inout [UInt64], _ value: UInt64) {
        heap.append(value)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if heap[parent] <= value { break }
            heap[i] = heap[parent]
            i = parent
        }
        heap[i] = value
    }

    @inline(__always)
    private static func pop(_ heap: inout [UInt64]) -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        if heap.isEmpty { return last }
        let top = heap[0]
        let n = heap.count
        var i = 0
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            var c = l
            if l + 1 < n && heap[l + 1] < heap[l] { c = l + 1 }
            if heap[c] >= last { break }
            heap[i] = heap[c]
            i = c
        }
        heap[i] = last
        return top
    }
}
