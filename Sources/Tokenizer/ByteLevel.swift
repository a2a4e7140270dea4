/// GPT-2's reversible byte ↔ printable-character mapping used by byte-level BPE vocabularies.
///
/// Every byte 0…255 maps to one Unicode scalar: the printable Latin-1 bytes (`!`…`~`, `¡`…`¬`,
/// `®`…`ÿ`) map to themselves, the other 68 bytes (controls, space, 0x7F–0xA0, 0xAD) map to
/// U+0100, U+0101, … in byte order. So the space byte 0x20 is `Ġ` (U+0120) and `\n` is `Ċ` (U+010A).
/// Vocabulary strings are written in these characters.
///
/// Reference: `bytes_to_unicode()` in OpenAI's GPT-2 `encoder.py`.
public enum ByteLevel {
    /// The scalar that stands for each byte: `byteToScalar[Int(b)]`.
    public static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(extra)!  // 256…323, always valid scalars
                extra += 1
            }
        }
        return table
    }()

    /// The byte a scalar stands for, or nil when the scalar is not one of the 256 byte symbols.
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        if v < 324 { return scalarToByteTable[Int(v)] }
        return nil
    }

    /// Scalar value (0..<324) → byte, or nil.
    private static let scalarToByteTable: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 324)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = UInt8(b) }
        return table
    }()

    /// Writes `bytes` in byte-level symbols: `encode([0x20, 0x74])` is `"Ġt"`.
    public static func encode<S: Sequence<UInt8>>(_ bytes: S) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// The bytes a byte-level string stands for, or nil if it contains a scalar that is not a byte
    /// symbol.
    public static func decode(_ symbols: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(symbols.unicodeScalars.count)
        for s in symbols.unicodeScalars {
            guard let b = byte(for: s) else { return nil }
            out.append(b)
        }
        return out
    }
}
