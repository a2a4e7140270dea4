#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// A GGUF (v2 or v3) file, memory-mapped read-only.
///
/// `init` parses and validates the header, metadata and tensor-info table (every read is
/// bounds-checked), then checks that each tensor's data lies inside the file and is aligned.
/// Tensor data is never copied at load: `withRawBytes` exposes the mapped bytes and
/// `dequantize` decodes them to `Float` on demand.
///
/// Layout (GGUF spec): magic `"GGUF"`, `version: u32`, `tensor_count: u64`,
/// `metadata_kv_count: u64`, the key/value pairs, the tensor infos, padding to
/// `general.alignment` (default 32), then the data section.
public final class GGUFFile: @unchecked Sendable {
    // @unchecked Sendable: every stored property is immutable after `init`; the mapping is
    // PROT_READ / MAP_PRIVATE, never written, and only unmapped in `deinit` when no reference remains.

    /// Path the file was opened from (used in every error message).
    public let path: String
    /// GGUF format version (2 or 3).
    public let version: UInt32
    /// Data alignment in bytes (`general.alignment`, default 32).
    public let alignment: Int
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// All metadata key/value pairs.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// Absolute byte offset of the data section in the file.
    public let tensorDataOffset: Int
    /// File size in bytes.
    public let fileSize: Int

    private let mapping: UnsafeMutableRawPointer
    private let tensorIndex: [String: Int]

    /// Smallest possible GGUF file: magic, version, two u64 counts.
    static let headerBytes = 24

    /// Opens and maps `path`, then parses it.
    /// - Throws: `GGUFError` naming `path` and what is wrong (missing file, bad magic, unsupported
    ///   version, truncation, unknown types, tensor data out of range, misalignment, ...).
    public init(path: String) throws {
        self.path = path
        func fail(_ k: GGUFError.Kind) -> GGUFError { GGUFError(k, path: path) }

        let fd = open(path, O_RDONLY)
        if fd < 0 {
            let e = errno
            let reason = e == ENOENT ? "file not found" : "file unreadable: \(String(cString: strerror(e)))"
            throw fail(.cannotOpen(reason: reason))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw fail(.cannotOpen(reason: "fstat failed: \(String(cString: strerror(errno)))"))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw fail(.cannotOpen(reason: "not a regular file"))
        }
        let size = Int(st.st_size)
        guard size >= Self.headerBytes else {
            throw fail(.tooSmall(size: size, minimum: Self.headerBytes))
        }
        guard let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), m != MAP_FAILED else {
            throw fail(.mapFailed(reason: String(cString: strerror(errno))))
        }
        var mapped = true
        defer { if mapped { munmap(m, size) } }

        var r = ByteReader(base: UnsafeRawPointer(m), count: size, path: path)
        let magic = (0..<4).map { r.base.load(fromByteOffset: $0, as: UInt8.self) }
        guard magic == Array("GGUF".utf8) else { throw fail(.badMagic(found: magic)) }
        r.offset = 4
        let version = try r.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw fail(.unsupportedVersion(found: version)) }
        let tensorCount = try r.read(UInt64.self, "tensor count")
        let kvCount = try r.read(UInt64.self, "metadata key/value count")
        // Each KV needs ≥ 8 (key length) + 4 (type) + 1 bytes; each tensor info ≥ 8 + 4 + 4 + 8.
        guard kvCount <= UInt64(r.remaining / 13) else {
            throw fail(.truncated(what: "\(kvCount) metadata key/value pairs", offset: r.offset,
                                  needed: Int(clamping: kvCount &* 13), fileSize: size))
        }

        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        keys.reserveCapacity(Int(kvCount))
        for i in 0..<Int(kvCount) {
            let key = try r.readString("key of metadata pair #\(i)")
            let typeAt = r.offset
            let type = try r.read(UInt32.self, "value type of '\(key)'")
            guard type <= 12 else {
                throw fail(.unknownValueType(what: "metadata key '\(key)'", offset: typeAt, type: type))
            }
            let value = try r.readValue(type: type, "metadata key '\(key)'")
            guard meta[key] == nil else { throw fail(.duplicateKey(key)) }
            keys.append(key)
            meta[key] = value
        }

        var alignment = 32
        if let a = meta["general.alignment"] {
            guard let v = a.intValue else {
                throw fail(.wrongType(key: "general.alignment", found: a.typeName, expected: "uint32"))
            }
            guard v > 0, v & (v - 1) == 0 else { throw fail(.invalidAlignment(value: "\(v)")) }
            alignment = v
        }

        guard tensorCount <= UInt64(r.remaining / 24) else {
            throw fail(.truncated(what: "\(tensorCount) tensor infos", offset: r.offset,
                                  needed: Int(clamping: tensorCount &* 24), fileSize: size))
        }
        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        infos.reserveCapacity(Int(tensorCount))
        for i in 0..<Int(tensorCount) {
            let name = try r.readString("name of tensor info #\(i)")
            let nDims = try r.read(UInt32.self, "dimension count of tensor '\(name)'")
            guard nDims <= 4 else {
                throw fail(.dimensionOverflow(tensor: name, dimensions: [],
                                              reason: "\(nDims) dimensions, at most 4 supported"))
            }
            var rawDims: [UInt64] = []
            for d in 0..<Int(nDims) {
                rawDims.append(try r.read(UInt64.self, "dimension \(d) of tensor '\(name)'"))
            }
            let typeRaw = try r.read(UInt32.self, "type of tensor '\(name)'")
            let offset = try r.read(UInt64.self, "data offset of tensor '\(name)'")
            guard let type = GGMLType(rawValue: typeRaw) else {
                throw fail(.unknownTensorType(tensor: name, type: typeRaw))
            }
            var count = 1
            var dims: [Int] = []
            for d in rawDims {
                guard let di = Int(exactly: d) else {
                    throw fail(.dimensionOverflow(tensor: name, dimensions: rawDims, reason: "dimension \(d) overflows Int"))
                }
                let (p, o) = count.multipliedReportingOverflow(by: di)
                guard !o else {
                    throw fail(.dimensionOverflow(tensor: name, dimensions: rawDims, reason: "element count overflows Int"))
                }
                count = p
                dims.append(di)
            }
            let ne0 = dims.first ?? 1
            guard ne0 % type.blockSize == 0 else {
                throw fail(.dimensionOverflow(tensor: name, dimensions: rawDims,
                    reason: "first dimension \(ne0) is not a multiple of the \(type.name) block size \(type.blockSize)"))
            }
            let (bytes, o2) = (count / type.blockSize).multipliedReportingOverflow(by: type.blockBytes)
            guard !o2 else {
                throw fail(.dimensionOverflow(tensor: name, dimensions: rawDims, reason: "byte count overflows Int"))
            }
            guard offset % UInt64(alignment) == 0 else {
                throw fail(.misalignedOffset(tensor: name, offset: offset, alignment: alignment))
            }
            guard index[name] == nil else { throw fail(.duplicateTensor(name)) }
            index[name] = infos.count
            infos.append(GGUFTensorInfo(name: name, dimensions: dims, type: type,
                                        offset: Int(clamping: offset), elementCount: count, byteCount: bytes))
        }

        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        for t in infos {
            let (start, o1) = dataStart.addingReportingOverflow(t.offset)
            let (end, o2) = start.addingReportingOverflow(t.byteCount)
            guard !o1, !o2, end <= size else {
                throw fail(.tensorDataPastEnd(tensor: t.name, start: o1 ? Int.max : start,
                                              end: (o1 || o2) ? Int.max : end, fileSize: size))
            }
        }

        self.version = version
        self.alignment = alignment
        self.metadataKeys = keys
        self.metadata = meta
        self.tensors = infos
        self.tensorIndex = index
        self.tensorDataOffset = dataStart
        self.fileSize = size
        self.mapping = m
        mapped = false
    }

    deinit {
        munmap(mapping, fileSize)
    }

    /// The tensor named `name`, or `nil`.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    // MARK: Typed metadata access

    private func value(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw GGUFError(.missingKey(key), path: path) }
        return v
    }

    private func wrong(_ key: String, _ v: GGUFValue, _ expected: String) -> GGUFError {
        GGUFError(.wrongType(key: key, found: v.typeName, expected: expected), path: path)
    }

    /// Integer value of `key` (any GGUF integer type that fits in `Int`).
    /// - Throws: `GGUFError` naming the key if missing or not an integer.
    public func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard let i = v.intValue else { throw wrong(key, v, "an integer type") }
        return i
    }

    /// Floating-point value of `key` (float32/float64, or any integer type).
    public func double(_ key: String) throws -> Double {
        let v = try value(key)
        guard let d = v.doubleValue else { throw wrong(key, v, "float32 or float64") }
        return d
    }

    /// String value of `key`.
    public func string(_ key: String) throws -> String {
        let v = try value(key)
        guard let s = v.stringValue else { throw wrong(key, v, "string") }
        return s
    }

    /// Bool value of `key`.
    public func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard let b = v.boolValue else { throw wrong(key, v, "bool") }
        return b
    }

    /// Array-of-strings value of `key`.
    public func strings(_ key: String) throws -> [String] {
        let v = try value(key)
        guard let a = v.arrayValue else { throw wrong(key, v, "array<string>") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let s = e.stringValue else { throw wrong(key, v, "array<string>") }
            out.append(s)
        }
        return out
    }

    /// Array-of-integers value of `key`.
    public func ints(_ key: String) throws -> [Int] {
        let v = try value(key)
        guard let a = v.arrayValue else { throw wrong(key, v, "array of an integer type") }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let i = e.intValue else { throw wrong(key, v, "array of an integer type") }
            out.append(i)
        }
        return out
    }

    /// Array-of-numbers value of `key` (floats or integers).
    public func doubles(_ key: String) throws -> [Double] {
        let v = try value(key)
        guard let a = v.arrayValue else { throw wrong(key, v, "array of float32/float64") }
        var out: [Double] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let d = e.doubleValue else { throw wrong(key, v, "array of float32/float64") }
            out.append(d)
        }
        return out
    }

    // MARK: Tensor data

    /// Calls `body` with the tensor's mapped bytes (`t.byteCount` bytes, no copy).
    /// The buffer is valid only inside `body`.
    /// - Precondition: `t` comes from this file's `tensors`.
    public func withRawBytes<R>(of t: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(tensorDataOffset + t.offset + t.byteCount <= fileSize,
                     "tensor '\(t.name)' is not inside GGUF file '\(path)'")
        return try body(UnsafeRawBufferPointer(
            start: UnsafeRawPointer(mapping) + tensorDataOffset + t.offset, count: t.byteCount))
    }

    /// The tensor's mapped bytes (`t.byteCount` bytes, no copy), valid for as long as this
    /// `GGUFFile` is alive (the mapping is released in `deinit`). Callers that keep the pointer
    /// must keep a reference to the file, e.g. `LlamaModel` reading quantized blocks at decode.
    /// - Precondition: `t` comes from this file's `tensors`.
    public func mappedBytes(of t: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        withRawBytes(of: t) { $0 }
    }

    /// Dequantizes tensor `t` into `out` (`t.elementCount` floats, ggml order: `ne0` fastest).
    /// Large tensors are decoded in parallel over block ranges.
    /// - Throws: `GGUFError` if the type is not supported or `out.count != t.elementCount`.
    public func dequantize(_ t: GGUFTensorInfo, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard out.count == t.elementCount else {
            throw GGUFError(.bufferSize(tensor: t.name, what: "output buffer", got: out.count,
                                        expected: t.elementCount), path: path)
        }
        guard t.type.isSupportedForDequantization else {
            throw GGUFError(.unsupportedTensorType(tensor: t.name, type: t.type), path: path)
        }
        try withRawBytes(of: t) { raw in
            try Dequantize.parallelRows(type: t.type, raw: raw, count: t.elementCount, into: out,
                                        tensor: t.name, path: path)
        }
    }

    /// Dequantizes tensor `t` to a new array of `t.elementCount` floats (ggml order).
    public func dequantize(_ t: GGUFTensorInfo) throws -> [Float] {
        guard t.type.isSupportedForDequantization else {
            throw GGUFError(.unsupportedTensorType(tensor: t.name, type: t.type), path: path)
        }
        return try [Float](unsafeUninitializedCapacity: t.elementCount) { buf, n in
            try dequantize(t, into: buf)
            n = t.elementCount
        }
    }
}
