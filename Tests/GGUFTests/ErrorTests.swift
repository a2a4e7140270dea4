import Foundation
import GGUF
import Testing
import TestSupport

@Suite("GGUF bad inputs produce actionable errors")
struct ErrorTests {
    /// Writes `bytes` to a temp file, opens it, expects an error mentioning the path and `parts`.
    func expectOpenError(_ bytes: [UInt8], _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try f.write(bytes)
        expectGGUFError(["GGUF file '\(f.path)'"] + parts, sourceLocation: sourceLocation) {
            _ = try GGUFFile(path: f.path)
        }
    }

    /// A valid file: 2 KVs, tensors "a" (F32 [8]) and "b" (Q8_0 [32, 2]).
    func validFile() throws -> [UInt8] {
        var w = GGUFWriter()
        w.set("general.name", .string("tiny"))
        w.set("llama.block_count", .uint32(2))
        try w.addTensor(name: "a", dimensions: [8], type: .f32, values: (0..<8).map(Float.init))
        try w.addTensor(name: "b", dimensions: [32, 2], type: .q8_0, values: (0..<64).map { Float($0) / 10 })
        return try w.serialized()
    }

    @Test func missingFile() {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID()).gguf").path
        expectGGUFError(["GGUF file '\(p)'", "file not found"]) { _ = try GGUFFile(path: p) }
    }

    @Test func directoryIsNotAFile() {
        let p = FileManager.default.temporaryDirectory.path
        expectGGUFError(["GGUF file '\(p)'", "not a regular file"]) { _ = try GGUFFile(path: p) }
    }

    @Test func tooSmall() throws {
        try expectOpenError([], ["file too small: 0 bytes", "at least 24 bytes"])
        try expectOpenError(Array("GGUF".utf8) + [3, 0, 0, 0], ["file too small: 8 bytes"])
    }

    @Test func badMagic() throws {
        var b = try validFile()
        b.replaceSubrange(0..<4, with: Array("GGML".utf8))
        try expectOpenError(b, ["bad magic", "47 47 4D 4C", "\"GGML\"", "expected \"GGUF\""])
    }

    @Test func unsupportedVersion() throws {
        var b = try validFile()
        b[4] = 1
        try expectOpenError(b, ["unsupported GGUF version: found 1, expected 2 or 3"])
        b[4] = 4
        try expectOpenError(b, ["found 4, expected 2 or 3"])
    }

    @Test func truncatedMetadata() throws {
        let b = try validFile()
        // Header (24) + key "general.name" (8 + 12) + type (4) + string length (8) + "tiny" (4) = 60;
        // cut inside the second key's type field.
        let secondKeyEnd = 60 + 8 + "llama.block_count".utf8.count
        try expectOpenError(Array(b[0..<secondKeyEnd + 2]),
                            ["truncated header/metadata", "value type of 'llama.block_count'",
                             "at byte offset \(secondKeyEnd)", "needs 4 bytes", "has \(secondKeyEnd + 2) bytes"])
        // Cut in the tensor-info table: infos start after the uint32 value (offset secondKeyEnd + 8);
        // info "a" takes 8+1+4+8+4+8 = 33 bytes, info "b" 8+1+4+16+4+8 = 41; cut 3 bytes into b's offset field.
        let infos = secondKeyEnd + 8
        try expectOpenError(Array(b[0..<infos + 33 + 41 - 3]),
                            ["truncated header/metadata", "data offset of tensor 'b'",
                             "at byte offset \(infos + 33 + 33)", "needs 8 bytes"])
    }

    @Test func stringPastEnd() throws {
        var x = Bytes.header(tensors: 0, kvs: 1)
        x.u64(1000); x.raw("short")
        try expectOpenError(x.b, ["string length past end of file", "key of metadata pair #0",
                                  "at byte offset 24", "declares 1000 bytes but only 5 remain"])
        var y = Bytes.header(tensors: 0, kvs: 1)
        y.str("k"); y.u32(8); y.u64(UInt64.max); y.raw("abc")
        try expectOpenError(y.b, ["string length past end of file", "metadata key 'k'",
                                  "declares \(UInt64.max) bytes"])
    }

    @Test func arrayPastEnd() throws {
        var x = Bytes.header(tensors: 0, kvs: 1)
        x.str("arr"); x.u32(9); x.u32(5); x.u64(1 << 62); x.u32(1)
        try expectOpenError(x.b, ["array past end of file", "metadata key 'arr'", "declares 4611686018427387904 elements"])
        var y = Bytes.header(tensors: 0, kvs: 1)  // array of strings whose 2nd string is cut
        y.str("arr"); y.u32(9); y.u32(8); y.u64(2); y.str("ok"); y.u64(50); y.raw("x")
        try expectOpenError(y.b, ["string length past end of file", "metadata key 'arr'[1]"])
    }

    @Test func unknownMetadataValueType() throws {
        var x = Bytes.header(tensors: 0, kvs: 1)
        x.str("weird"); x.u32(13); x.u32(0)
        try expectOpenError(x.b, ["unknown metadata value type 13", "metadata key 'weird'", "at byte offset 37"])
        var y = Bytes.header(tensors: 0, kvs: 1)
        y.str("arr"); y.u32(9); y.u32(77); y.u64(0)
        try expectOpenError(y.b, ["unknown metadata value type 77", "elements of metadata key 'arr'"])
    }

    /// A file with one tensor info given by `tensor`, no metadata, and `dataBytes` of zero data.
    func oneTensorFile(dataBytes: Int, kvs: (inout Bytes) -> Int = { _ in 0 }, _ tensor: (inout Bytes) -> Void) -> [UInt8] {
        var meta = Bytes()
        let n = kvs(&meta)
        var x = Bytes.header(tensors: 1, kvs: UInt64(n))
        x.b += meta.b
        tensor(&x)
        x.pad(to: 32)
        x.b += [UInt8](repeating: 0, count: dataBytes)
        return x.b
    }

    @Test func unknownTensorType() throws {
        let b = oneTensorFile(dataBytes: 64) { x in x.str("blk.0.x"); x.u32(1); x.u64(8); x.u32(99); x.u64(0) }
        try expectOpenError(b, ["tensor 'blk.0.x' has unknown tensor type 99"])
    }

    @Test func unsupportedTensorTypeForDequantization() throws {
        var w = GGUFWriter()
        try w.addRawTensor(name: "k", dimensions: [256], type: .q6_K, bytes: [UInt8](repeating: 0, count: 210))
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try w.write(to: f.path)
        let g = try GGUFFile(path: f.path)  // opening is fine
        let t = try #require(g.tensor(named: "k"))
        #expect(t.byteCount == 210 && t.type == .q6_K)
        expectGGUFError(["GGUF file '\(f.path)'", "tensor 'k' has unsupported tensor type Q6_K (14)"]) {
            _ = try g.dequantize(t)
        }
    }

    @Test func tensorDataPastEnd() throws {
        let b = try validFile()
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try f.write(b)
        let g = try GGUFFile(path: f.path)
        let t = try #require(g.tensor(named: "b"))
        let start = g.tensorDataOffset + t.offset
        #expect(start + t.byteCount == b.count)
        try expectOpenError(Array(b.dropLast(3)),
                            ["tensor 'b' data past end of file", "bytes \(start)..<\(start + 68)",
                             "file size is \(b.count - 3)"])
        // A huge offset overflowing the end as well.
        let c = oneTensorFile(dataBytes: 0) { x in x.str("t"); x.u32(1); x.u64(4); x.u32(0); x.u64(UInt64(Int.max) / 32 * 32) }
        try expectOpenError(c, ["tensor 't' data past end of file"])
    }

    @Test func dimensionOverflow() throws {
        let b = oneTensorFile(dataBytes: 0) { x in x.str("big"); x.u32(2); x.u64(1 << 62); x.u64(4); x.u32(0); x.u64(0) }
        try expectOpenError(b, ["tensor 'big' dimensions [4611686018427387904, 4]", "element count overflows Int"])
        let c = oneTensorFile(dataBytes: 0) { x in x.str("neg"); x.u32(1); x.u64(UInt64.max); x.u32(0); x.u64(0) }
        try expectOpenError(c, ["tensor 'neg'", "dimension 18446744073709551615 overflows Int"])
        let d = oneTensorFile(dataBytes: 0) { x in x.str("five"); x.u32(5); for _ in 0..<5 { x.u64(1) }; x.u32(0); x.u64(0) }
        try expectOpenError(d, ["tensor 'five'", "5 dimensions, at most 4 supported"])
        let e = oneTensorFile(dataBytes: 64) { x in x.str("q"); x.u32(1); x.u64(16); x.u32(8); x.u64(0) }
        try expectOpenError(e, ["tensor 'q'", "first dimension 16 is not a multiple of the Q8_0 block size 32"])
    }

    @Test func misalignedOffset() throws {
        let b = oneTensorFile(dataBytes: 64) { x in x.str("m"); x.u32(1); x.u64(4); x.u32(0); x.u64(4) }
        try expectOpenError(b, ["tensor 'm' has misaligned offset 4", "alignment 32"])
        // With general.alignment = 4 the same offset is fine.
        let c = oneTensorFile(dataBytes: 64, kvs: { m in m.str("general.alignment"); m.u32(4); m.u32(4); return 1 }) { x in
            x.str("m"); x.u32(1); x.u64(4); x.u32(0); x.u64(4)
        }
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try f.write(c)
        #expect(try GGUFFile(path: f.path).alignment == 4)
        let d = oneTensorFile(dataBytes: 64, kvs: { m in m.str("general.alignment"); m.u32(4); m.u32(24); return 1 }) { x in
            x.str("m"); x.u32(1); x.u64(4); x.u32(0); x.u64(0)
        }
        try expectOpenError(d, ["invalid general.alignment 24"])
        let e = oneTensorFile(dataBytes: 64, kvs: { m in m.str("general.alignment"); m.u32(8); m.str("x"); return 1 }) { x in
            x.str("m"); x.u32(1); x.u64(4); x.u32(0); x.u64(0)
        }
        try expectOpenError(e, ["wrong metadata type for key 'general.alignment'", "found string"])
    }

    @Test func duplicates() throws {
        var x = Bytes.header(tensors: 0, kvs: 2)
        x.str("k"); x.u32(0); x.u8(1)
        x.str("k"); x.u32(0); x.u8(2)
        try expectOpenError(x.b, ["duplicate metadata key 'k'"])
    }

    @Test func badBoolByte() throws {
        var x = Bytes.header(tensors: 0, kvs: 1)
        x.str("flag"); x.u32(7); x.u8(2)
        try expectOpenError(x.b, ["metadata key 'flag'", "bool byte 2", "expected 0 or 1"])
    }

    @Test func hugeCountsAreRejectedBeforeAllocating() throws {
        let x = Bytes.header(tensors: 0, kvs: UInt64.max)
        try expectOpenError(x.b, ["truncated header/metadata", "metadata key/value pairs"])
        let y = Bytes.header(tensors: 1 << 40, kvs: 0)
        try expectOpenError(y.b, ["truncated header/metadata", "1099511627776 tensor infos"])
    }
}
