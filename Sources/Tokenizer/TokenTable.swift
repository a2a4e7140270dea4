/// Vocabulary lookup by exact UTF-8 bytes: token bytes → id.
///
/// Used instead of `[String: Int32]` because `String` hashing and equality go through Unicode
/// canonical equivalence (slow for the non-ASCII byte symbols like `Ġ`, and not byte-exact).
/// Open addressing with linear probing, FNV-1a hashes, load factor ≤ 0.5.
///
/// - Complexity: O(token length) per lookup, expected.
struct TokenTable: Sendable {
    /// All token bytes, concatenated; token `i` is `bytes[offsets[i]..<offsets[i+1]]`.
    private let bytes: [UInt8]
    private let offsets: [Int32]
    /// Slot → token id, or -1 for empty.
    private let slots: [Int32]
    private let mask: Int

    /// Builds the table; a repeated token string maps to its first id.
    init(_ tokens: [String]) {
        var bytes: [UInt8] = []
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        for t in tokens {
            bytes.append(contentsOf: t.utf8)
            offsets.append(Int32(bytes.count))
        }
        var capacity = 16
        while capacity < 2 * tokens.count { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        bytes.withUnsafeBufferPointer { all in
            for id in 0..<tokens.count {
                let token = UnsafeBufferPointer(rebasing: all[Int(offsets[id])..<Int(offsets[id + 1])])
                var slot = Int(truncatingIfNeeded: Self.hash(token)) & mask
                while true {
                    let occupant = slots[slot]
                    if occupant < 0 {
                        slots[slot] = Int32(id)
                        break
                    }
                    let other = UnsafeBufferPointer(
                        rebasing: all[Int(offsets[Int(occupant)])..<Int(offsets[Int(occupant) + 1])])
                    if other.elementsEqual(token) { break }  // duplicate: keep the first id
                    slot = (slot + 1) & mask
                }
            }
        }
        self.bytes = bytes
        self.offsets = offsets
        self.slots = slots
        self.mask = mask
    }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in key {
            h = (h ^ UInt64(b)) &* 0x100_0000_01B3
        }
        return h ^ (h >> 29)
    }

    /// The id of the token whose UTF-8 bytes are exactly `key`, or nil.
    func id(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        bytes.withUnsafeBufferPointer { all in
            var slot = Int(truncatingIfNeeded: Self.hash(key)) & mask
            while true {
                let occupant = slots[slot]
                if occupant < 0 { return nil }
                let start = Int(offsets[Int(occupant)]), end = Int(offsets[Int(occupant) + 1])
                if end - start == key.count && UnsafeBufferPointer(rebasing: all[start..<end]).elementsEqual(key) {
                    return occupant
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// The id of the token spelled exactly `token` (byte for byte), or nil.
    func id(_ token: String) -> Int32? {
        var token = token
        return token.withUTF8 { id($0) }
    }
}
