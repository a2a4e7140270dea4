/// Bounds-checked little-endian cursor over the mapped header region. Every read checks the
/// remaining length first and throws a `GGUFError` naming the file, the field and the offset.
struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    var offset: Int = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    var remaining: Int { count - offset }

    func fail(_ kind: GGUFError.Kind) -> GGUFError { GGUFError(kind, path: path) }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > remaining {
            throw fail(.truncated(what: what(), offset: offset, needed: n, fileSize: count))
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let len = try read(UInt64.self, "length of \(what())")
        guard len <= UInt64(remaining) else {
            throw fail(.stringPastEnd(what: what(), offset: start, length: len, remaining: remaining))
        }
        let n = Int(len)
        let s = String(
            decoding: UnsafeRawBufferPointer(start: base + offset, count: n), as: UTF8.self)
        offset += n
        return s
    }

    /// Reads a value of on-disk type `type` (0...12).
    mutating func readValue(type: UInt32, _ what: @autoclosure () -> String, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try read(UInt8.self, what()))
        case 1: return .int8(try read(Int8.self, what()))
        case 2: return .uint16(try read(UInt16.self, what()))
        case 3: return .int16(try read(Int16.self, what()))
        case 4: return .uint32(try read(UInt32.self, what()))
        case 5: return .int32(try read(Int32.self, what()))
        case 6: return .float32(Float(bitPattern: try read(UInt32.self, what())))
        case 7:
            let at = offset
            let b = try read(UInt8.self, what())
            guard b <= 1 else {
                throw fail(.wrongType(key: what(), found: "bool byte \(b) at byte offset \(at)", expected: "0 or 1"))
            }
            return .bool(b == 1)
        case 8: return .string(try readString(what()))
        case 9:
            let typeAt = offset
            let elemType = try read(UInt32.self, "element type of \(what())")
            guard elemType <= 12 else {
                throw fail(.unknownValueType(what: "elements of \(what())", offset: typeAt, type: elemType))
            }
            guard depth < 64 else {
                throw fail(.mixedArray(key: what(), reason: "arrays nested deeper than 64 levels"))
            }
            let countAt = offset
            let n = try read(UInt64.self, "element count of \(what())")
            // Minimum bytes per element: fixed size, 8 for string length / array header (≥ 12).
            let minBytes: UInt64
            switch elemType {
            case 0, 1, 7: minBytes = 1
            case 2, 3: minBytes = 2
            case 4, 5, 6: minBytes = 4
            case 9: minBytes = 12
            default: minBytes = 8
            }
            guard n <= UInt64(remaining) / minBytes else {
                throw fail(.arrayPastEnd(what: what(), offset: countAt, count: n, remaining: remaining))
            }
            var out: [GGUFValue] = []
            out.reserveCapacity(Int(n))
            for i in 0..<Int(n) {
                out.append(try readValue(type: elemType, "\(what())[\(i)]", depth: depth + 1))
            }
            return .array(out)
        case 10: return .uint64(try read(UInt64.self, what()))
        case 11: return .int64(try read(Int64.self, what()))
        case 12: return .float64(Double(bitPattern: try read(UInt64.self, what())))
        default:
            throw fail(.unknownValueType(what: what(), offset: offset - 4, type: type))
        }
    }
}
