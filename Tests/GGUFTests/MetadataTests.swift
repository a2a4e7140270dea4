import GGUF
import Testing
import TestSupport

@Suite("GGUF metadata")
struct MetadataTests {
    static let all: [(String, GGUFValue)] = [
        ("t.u8", .uint8(250)), ("t.i8", .int8(-100)), ("t.u16", .uint16(65000)), ("t.i16", .int16(-32000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)), ("t.f32", .float32(-1.25e-3)),
        ("t.bool.t", .bool(true)), ("t.bool.f", .bool(false)), ("t.str", .string("héllo 🌍")),
        ("t.empty", .string("")), ("t.u64", .uint64(UInt64.max)), ("t.i64", .int64(Int64.min)),
        ("t.f64", .float64(3.141592653589793)),
        ("t.arr.str", .array([.string("a"), .string(""), .string("ccc")])),
        ("t.arr.i32", .array([.int32(1), .int32(-2), .int32(3)])),
        ("t.arr.f32", .array([.float32(0.5), .float32(-2)])),
        ("t.arr.nested", .array([.array([.uint8(1), .uint8(2)]), .array([.uint8(3)]), .array([])])),
        ("t.arr.nested.str", .array([.array([.string("x")]), .array([.string("y"), .string("z")])])),
        ("t.arr.bool", .array([.bool(true), .bool(false)])),
        ("t.arr.u64", .array([.uint64(7), .uint64(1 << 40)])),
        ("t.arr.f64", .array([.float64(1e300), .float64(-0.0)])),
        ("t.arr.u8.empty", .array([])),
    ]

    @Test func roundTripEveryValueTypeInOrder() throws {
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        var w = GGUFWriter()
        for (k, v) in Self.all { w.set(k, v) }
        try w.write(to: f.path)
        let g = try GGUFFile(path: f.path)
        #expect(g.version == 3)
        #expect(g.alignment == 32)
        #expect(g.metadataKeys == Self.all.map(\.0))
        for (k, v) in Self.all { #expect(g.metadata[k] == v, "key \(k)") }
        #expect(g.tensors.isEmpty)
        #expect(g.tensorDataOffset % 32 == 0)
    }

    @Test func typedAccessors() throws {
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        var w = GGUFWriter()
        for (k, v) in Self.all { w.set(k, v) }
        try w.write(to: f.path)
        let g = try GGUFFile(path: f.path)
        #expect(try g.int("t.u8") == 250)
        #expect(try g.int("t.i64") == Int(Int64.min))
        #expect(try g.int("t.u32") == 4_000_000_000)
        #expect(try g.double("t.f32") == Double(Float(-1.25e-3)))
        #expect(try g.double("t.f64") == 3.141592653589793)
        #expect(try g.double("t.i32") == -2_000_000_000)
        #expect(try g.string("t.str") == "héllo 🌍")
        #expect(try g.bool("t.bool.t"))
        #expect(try g.strings("t.arr.str") == ["a", "", "ccc"])
        #expect(try g.ints("t.arr.i32") == [1, -2, 3])
        #expect(try g.doubles("t.arr.f32") == [0.5, -2])
        expectGGUFError(["'\(f.path)'", "missing metadata key 'llama.block_count'"]) {
            _ = try g.int("llama.block_count")
        }
        expectGGUFError(["'\(f.path)'", "wrong metadata type for key 't.str'", "found string", "expected an integer type"]) {
            _ = try g.int("t.str")
        }
        expectGGUFError(["key 't.u64'", "found uint64"]) { _ = try g.int("t.u64") }  // UInt64.max does not fit Int
        expectGGUFError(["key 't.arr.i32'", "found array<int32>", "expected array<string>"]) {
            _ = try g.strings("t.arr.i32")
        }
        expectGGUFError(["key 't.i8'", "found int8", "expected string"]) { _ = try g.string("t.i8") }
    }

    @Test func setOverwritesInPlaceAndMixedArraysAreRejected() throws {
        var w = GGUFWriter()
        w.set("a", .uint8(1)); w.set("b", .uint8(2)); w.set("a", .string("x"))
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try w.write(to: f.path)
        let g = try GGUFFile(path: f.path)
        #expect(g.metadataKeys == ["a", "b"])
        #expect(g.metadata["a"] == .string("x"))
        w.set("bad", .array([.uint8(1), .string("no")]))
        expectGGUFError(["metadata key 'bad'", "share one type", "uint8", "string"]) { _ = try w.serialized() }
    }

    @Test func customAlignmentIsRecordedAndHonoured() throws {
        var w = GGUFWriter(alignment: 64)
        w.set("x", .uint8(1))
        try w.addTensor(name: "a", dimensions: [3], type: .f32, values: [1, 2, 3])
        try w.addTensor(name: "b", dimensions: [2], type: .f32, values: [4, 5])
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try w.write(to: f.path)
        let g = try GGUFFile(path: f.path)
        #expect(g.alignment == 64)
        #expect(try g.int("general.alignment") == 64)
        #expect(g.tensorDataOffset % 64 == 0)
        #expect(g.tensors.map(\.offset) == [0, 64])
        #expect(try g.dequantize(g.tensor(named: "b")!) == [4, 5])
    }

    @Test func version2IsAccepted() throws {
        // Hand-built v2 file: one uint32 KV, one F32 tensor [2] at offset 0.
        var x = Bytes.header(version: 2, tensors: 1, kvs: 1)
        x.str("k"); x.u32(4); x.u32(7)
        x.str("t"); x.u32(1); x.u64(2); x.u32(0); x.u64(0)
        x.pad(to: 32)
        let start = x.b.count
        x.u32(Float(1.5).bitPattern); x.u32(Float(-3).bitPattern)
        let f = TemporaryFile(extension: "gguf")
        defer { f.cleanup() }
        try f.write(x.b)
        let g = try GGUFFile(path: f.path)
        #expect(g.version == 2)
        #expect(g.tensorDataOffset == start)
        #expect(g.metadata["k"] == .uint32(7))
        let t = try #require(g.tensor(named: "t"))
        #expect(t.dimensions == [2] && t.type == .f32 && t.byteCount == 8 && t.elementCount == 2)
        #expect(try g.dequantize(t) == [1.5, -3])
        g.withRawBytes(of: t) { raw in
            #expect(raw.count == 8)
            #expect(raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == Float(-3).bitPattern)
        }
    }
}
