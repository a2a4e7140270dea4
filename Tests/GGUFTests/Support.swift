import Foundation
import GGUF
import Testing
import TestSupport

/// Little-endian byte builder for hand-made (possibly malformed) GGUF files.
struct Bytes {
    var b: [UInt8] = []
    mutating func raw(_ s: String) { b += Array(s.utf8) }
    mutating func u8(_ v: UInt8) { b.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); raw(s) }
    mutating func pad(to a: Int) { while b.count % a != 0 { b.append(0) } }
    /// GGUF header: magic, version, tensor count, kv count.
    static func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) -> Bytes {
        var x = Bytes()
        x.raw("GGUF"); x.u32(version); x.u64(tensors); x.u64(kvs)
        return x
    }
}

/// Expects `body` to throw a `GGUFError` whose message contains every string in `parts`.
func expectGGUFError(_ parts: [String], sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a GGUFError containing \(parts)", sourceLocation: sourceLocation)
    } catch let e as GGUFError {
        let msg = e.description
        for p in parts {
            #expect(msg.contains(p), "message \"\(msg)\" lacks \"\(p)\"", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected GGUFError, got \(error)", sourceLocation: sourceLocation)
    }
}


/// The real SmolLM2 file: `TestSupport.RealModelFile` (one place for every test target).
typealias RealModel = RealModelFile
