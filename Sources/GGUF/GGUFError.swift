/// An error reading, dequantizing or writing a GGUF file. The message names the file and
/// says what was found and what was expected.
public struct GGUFError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        case cannotOpen(reason: String)
        case tooSmall(size: Int, minimum: Int)
        case badMagic(found: [UInt8])
        case unsupportedVersion(found: UInt32)
        case truncated(what: String, offset: Int, needed: Int, fileSize: Int)
        case stringPastEnd(what: String, offset: Int, length: UInt64, remaining: Int)
        case arrayPastEnd(what: String, offset: Int, count: UInt64, remaining: Int)
        case unknownValueType(what: String, offset: Int, type: UInt32)
        case unknownTensorType(tensor: String, type: UInt32)
        case unsupportedTensorType(tensor: String, type: GGMLType)
        case tensorDataPastEnd(tensor: String, start: Int, end: Int, fileSize: Int)
        case dimensionOverflow(tensor: String, dimensions: [UInt64], reason: String)
        case misalignedOffset(tensor: String, offset: UInt64, alignment: Int)
        case invalidAlignment(value: String)
        case duplicateKey(String)
        case duplicateTensor(String)
        case missingKey(String)
        case wrongType(key: String, found: String, expected: String)
        case mapFailed(reason: String)
        case bufferSize(tensor: String, what: String, got: Int, expected: Int)
        case invalidTensor(tensor: String, reason: String)
        case mixedArray(key: String, reason: String)
        case writeFailed(reason: String)
    }

    let kind: Kind
    /// The file concerned (`"<memory>"` for in-memory dequantization).
    public let path: String

    init(_ kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    public var description: String {
        let p = "GGUF file '\(path)'"
        switch kind {
        case .cannotOpen(let reason):
            return "\(p): cannot open: \(reason)"
        case .tooSmall(let size, let minimum):
            return "\(p): file too small: \(size) bytes, a GGUF header needs at least \(minimum) bytes"
        case .badMagic(let found):
            let hex = found.map { String($0, radix: 16, uppercase: true) }.map { $0.count == 1 ? "0" + $0 : $0 }
            let ascii = String(found.map { (32...126).contains($0) ? Character(UnicodeScalar($0)) : "." })
            return "\(p): bad magic: found bytes [\(hex.joined(separator: " "))] (\"\(ascii)\"), expected \"GGUF\" (47 47 55 46); not a GGUF file"
        case .unsupportedVersion(let found):
            return "\(p): unsupported GGUF version: found \(found), expected 2 or 3"
        case .truncated(let what, let offset, let needed, let fileSize):
            return "\(p): truncated header/metadata: reading \(what) at byte offset \(offset) needs \(needed) bytes but the file has \(fileSize) bytes"
        case .stringPastEnd(let what, let offset, let length, let remaining):
            return "\(p): string length past end of file: \(what) at byte offset \(offset) declares \(length) bytes but only \(remaining) remain"
        case .arrayPastEnd(let what, let offset, let count, let remaining):
            return "\(p): array past end of file: \(what) at byte offset \(offset) declares \(count) elements but only \(remaining) bytes remain"
        case .unknownValueType(let what, let offset, let type):
            return "\(p): unknown metadata value type \(type) for \(what) at byte offset \(offset); expected 0...12"
        case .unknownTensorType(let tensor, let type):
            return "\(p): tensor '\(tensor)' has unknown tensor type \(type)"
        case .unsupportedTensorType(let tensor, let type):
            return "\(p): tensor '\(tensor)' has unsupported tensor type \(type.name) (\(type.rawValue)); supported: F32, F16, Q8_0, Q4_0, Q4_1"
        case .tensorDataPastEnd(let tensor, let start, let end, let fileSize):
            return "\(p): tensor '\(tensor)' data past end of file: bytes \(start)..<\(end) but the file size is \(fileSize)"
        case .dimensionOverflow(let tensor, let dims, let reason):
            return "\(p): tensor '\(tensor)' dimensions \(dims): \(reason)"
        case .misalignedOffset(let tensor, let offset, let alignment):
            return "\(p): tensor '\(tensor)' has misaligned offset \(offset): not a multiple of the alignment \(alignment)"
        case .invalidAlignment(let value):
            return "\(p): invalid general.alignment \(value): expected a power of two ≥ 1"
        case .duplicateKey(let key):
            return "\(p): duplicate metadata key '\(key)'"
        case .duplicateTensor(let name):
            return "\(p): duplicate tensor name '\(name)'"
        case .missingKey(let key):
            return "\(p): missing metadata key '\(key)'"
        case .wrongType(let key, let found, let expected):
            return "\(p): wrong metadata type for key '\(key)': found \(found), expected \(expected)"
        case .mapFailed(let reason):
            return "\(p): mmap failed: \(reason)"
        case .bufferSize(let tensor, let what, let got, let expected):
            return "\(p): tensor '\(tensor)': \(what) has \(got), expected \(expected)"
        case .invalidTensor(let tensor, let reason):
            return "\(p): invalid tensor '\(tensor)': \(reason)"
        case .mixedArray(let key, let reason):
            return "\(p): metadata key '\(key)': \(reason)"
        case .writeFailed(let reason):
            return "\(p): write failed: \(reason)"
        }
    }
}
