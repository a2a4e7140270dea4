#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a GGUF v3 file in memory and writes it: metadata in insertion order, tensor infos,
/// alignment padding, then each tensor's data at an aligned offset.
///
/// Used by tests to create tiny random models. `addTensor` quantizes `Float` values to
/// F32/F16/Q8_0/Q4_0/Q4_1 with llama.cpp's reference (round-to-nearest) quantizers.
public struct GGUFWriter: Sendable {
    /// Data alignment in bytes (power of two). If not 32 it is recorded as `general.alignment`.
    public let alignment: Int
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var infos: [(name: String, dimensions: [Int], type: GGMLType, offset: Int)] = []
    private var data: [UInt8] = []

    /// - Parameter alignment: power of two ≥ 1 (default 32, the GGUF default).
    public init(alignment: Int = 32) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        self.alignment = alignment
        if alignment != 32 { set("general.alignment", .uint32(UInt32(alignment))) }
    }

    /// Sets metadata `key` to `v`. A new key is appended (file order = insertion order);
    /// an existing key keeps its position and gets the new value.
    public mutating func set(_ key: String, _ v: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = v
    }

    /// Adds a tensor, quantizing `values` to `type`.
    /// - Parameters:
    ///   - dimensions: ggml order (`ne0` first); `ne0` must be a multiple of `type.blockSize`.
    ///   - values: `product(dimensions)` floats in ggml order (`ne0` fastest).
    /// - Throws: `GGUFError` (path `"<writer>"`) for a count mismatch, bad `ne0`, duplicate name or
    ///   a type that cannot be quantized.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType, values: [Float]) throws {
        let bytes = try Quantize.encode(values, type: type, dimensions: dimensions, tensor: name)
        try addRawTensor(name: name, dimensions: dimensions, type: type, bytes: bytes)
    }

    /// Adds a tensor whose data is already encoded (any `GGMLType`, e.g. to build files with
    /// types this module cannot dequantize). `bytes.count` must equal the type's byte size.
    public mutating func addRawTensor(name: String, dimensions: [Int], type: GGMLType, bytes: [UInt8]) throws {
        func fail(_ r: String) -> GGUFError { GGUFError(.invalidTensor(tensor: name, reason: r), path: "<writer>") }
        guard !infos.contains(where: { $0.name == name }) else { throw fail("duplicate tensor name") }
        guard dimensions.count <= 4, dimensions.allSatisfy({ $0 >= 0 }) else {
            throw fail("dimensions \(dimensions): need at most 4 non-negative dimensions")
        }
        let count = dimensions.reduce(1, *)
        guard (dimensions.first ?? 1) % type.blockSize == 0 else {
            throw fail("first dimension \(dimensions.first ?? 1) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        let need = count / type.blockSize * type.blockBytes
        guard bytes.count == need else { throw fail("\(bytes.count) data bytes, expected \(need)") }
        let pad = (alignment - data.count % alignment) % alignment
        data.append(contentsOf: repeatElement(0, count: pad))
        infos.append((name, dimensions, type, data.count))
        data.append(contentsOf: bytes)
    }

    /// The complete file contents.
    public func serialized() throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 4096)
        out.append(contentsOf: Array("GGUF".utf8))
        Self.put(UInt32(3), &out)
        Self.put(UInt64(infos.count), &out)
        Self.put(UInt64(keys.count), &out)
        for k in keys {
            Self.putString(k, &out)
            let v = values[k]!
            Self.put(v.typeCode, &out)
            try Self.putValue(v, key: k, &out)
        }
        for t in infos {
            Self.putString(t.name, &out)
            Self.put(UInt32(t.dimensions.count), &out)
            for d in t.dimensions { Self.put(UInt64(d), &out) }
            Self.put(t.type.rawValue, &out)
            Self.put(UInt64(t.offset), &out)
        }
        let pad = (alignment - out.count % alignment) % alignment
        out.append(contentsOf: repeatElement(0, count: pad))
        out.append(contentsOf: data)
        return out
    }

    /// Writes the file to `path` (created or truncated).
    /// - Throws: `GGUFError` naming `path` if it cannot be written.
    public func write(to path: String) throws {
        let bytes = try serialized()
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw GGUFError(.writeFailed(reason: String(cString: strerror(errno))), path: path)
        }
        defer { close(fd) }
        var done = 0
        try bytes.withUnsafeBytes { buf in
            while done < buf.count {
                let n = Self.systemWrite(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw GGUFError(.writeFailed(reason: String(cString: strerror(errno))), path: path)
                }
                done += n
            }
        }
    }

    private static func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(fd, p, n)
        #else
        return Darwin.write(fd, p, n)
        #endif
    }

    static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func putString(_ s: String, _ out: inout [UInt8]) {
        let u = Array(s.utf8)
        put(UInt64(u.count), &out)
        out.append(contentsOf: u)
    }

    static func putValue(_ v: GGUFValue, key: String, _ out: inout [UInt8]) throws {
        switch v {
        case .uint8(let x): put(x, &out)
        case .int8(let x): put(x, &out)
        case .uint16(let x): put(x, &out)
        case .int16(let x): put(x, &out)
        case .uint32(let x): put(x, &out)
        case .int32(let x): put(x, &out)
        case .float32(let x): put(x.bitPattern, &out)
        case .bool(let x): put(UInt8(x ? 1 : 0), &out)
        case .string(let s): putString(s, &out)
        case .uint64(let x): put(x, &out)
        case .int64(let x): put(x, &out)
        case .float64(let x): put(x.bitPattern, &out)
        case .array(let a):
            // Empty arrays are written with element type uint8 (the type is not recoverable).
            let elemType = a.first?.typeCode ?? 0
            for e in a where e.typeCode != elemType {
                throw GGUFError(.mixedArray(key: key,
                    reason: "array elements must share one type, found \(GGUFValue.typeName(code: elemType)) and \(e.typeName)"),
                    path: "<writer>")
            }
            put(elemType, &out)
            put(UInt64(a.count), &out)
            for e in a { try putValue(e, key: key, &out) }
        }
    }
}

/// llama.cpp reference quantizers (`quantize_row_*_ref`), F32 → block bytes.
public enum Quantize {
    /// Encodes `values` (ggml order) as `type`.
    /// - Throws: `GGUFError` if `type` is unsupported, `values.count != product(dimensions)`, or
    ///   `ne0` is not a multiple of the block size.
    public static func encode(_ values: [Float], type: GGMLType, dimensions: [Int], tensor: String) throws -> [UInt8] {
        func fail(_ r: String) -> GGUFError { GGUFError(.invalidTensor(tensor: tensor, reason: r), path: "<writer>") }
        guard type.isSupportedForDequantization else {
            throw GGUFError(.unsupportedTensorType(tensor: tensor, type: type), path: "<writer>")
        }
        let count = dimensions.reduce(1, *)
        guard values.count == count else { throw fail("\(values.count) values for dimensions \(dimensions) (\(count) elements)") }
        guard (dimensions.first ?? 1) % type.blockSize == 0 else {
            throw fail("first dimension \(dimensions.first ?? 1) is not a multiple of the \(type.name) block size \(type.blockSize)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw fail("value \(values[bad]) at index \(bad) is not finite")
        }
        var out: [UInt8] = []
        out.reserveCapacity(count / type.blockSize * type.blockBytes)
        switch type {
        case .f32:
            for v in values { GGUFWriter.put(v.bitPattern, &out) }
        case .f16:
            for v in values { GGUFWriter.put(Half.fromFloat(v), &out) }
        case .q8_0:
            for b in stride(from: 0, to: count, by: 32) {
                let x = values[b..<b + 32]
                let amax = x.reduce(Float(0)) { max($0, abs($1)) }
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                GGUFWriter.put(Half.fromFloat(d), &out)
                for v in x { out.append(UInt8(bitPattern: Int8((v * id).rounded()))) }
            }
        case .q4_0:
            for b in stride(from: 0, to: count, by: 32) {
                var amax: Float = 0, mx: Float = 0
                for v in values[b..<b + 32] where abs(v) > amax { amax = abs(v); mx = v }
                let d = mx / -8
                let id: Float = d != 0 ? 1 / d : 0
                GGUFWriter.put(Half.fromFloat(d), &out)
                for j in 0..<16 {
                    let x0 = min(15, Int8(values[b + j] * id + 8.5))
                    let x1 = min(15, Int8(values[b + j + 16] * id + 8.5))
                    out.append(UInt8(x0) | UInt8(x1) << 4)
                }
            }
        case .q4_1:
            for b in stride(from: 0, to: count, by: 32) {
                let x = values[b..<b + 32]
                let lo = x.min()!, hi = x.max()!
                let d = (hi - lo) / 15
                let id: Float = d != 0 ? 1 / d : 0
                GGUFWriter.put(Half.fromFloat(d), &out)
                GGUFWriter.put(Half.fromFloat(lo), &out)
                for j in 0..<16 {
                    let x0 = min(15, Int8((values[b + j] - lo) * id + 0.5))
                    let x1 = min(15, Int8((values[b + j + 16] - lo) * id + 0.5))
                    out.append(UInt8(x0) | UInt8(x1) << 4)
                }
            }
        default:
            throw GGUFError(.unsupportedTensorType(tensor: tensor, type: type), path: "<writer>")
        }
        return out
    }
}
