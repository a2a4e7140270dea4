import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Block decoders from ggml storage types to `Float` (llama.cpp `dequantize_row_*` layouts).
///
/// - Q8_0 block (34 bytes / 32 elements): f16 `d`, 32 × int8 `q`; `w[j] = d * q[j]`.
/// - Q4_0 block (18 bytes / 32 elements): f16 `d`, 16 bytes `qs`;
///   `w[j] = ((qs[j] & 15) - 8) * d`, `w[j+16] = ((qs[j] >> 4) - 8) * d` for j in 0..<16.
/// - Q4_1 block (20 bytes / 32 elements): f16 `d`, f16 `m`, 16 bytes `qs`;
///   `w[j] = (qs[j] & 15) * d + m`, `w[j+16] = (qs[j] >> 4) * d + m`.
/// - F16: IEEE binary16 per element; F32: copied.
///
/// All multi-byte fields are little-endian, read unaligned.
public enum Dequantize {
    /// Decodes `count` elements of `type` from `raw` into `into[0..<count]`.
    /// - Parameters:
    ///   - raw: at least `count / type.blockSize * type.blockBytes` bytes.
    ///   - count: element count, a multiple of `type.blockSize`.
    ///   - into: at least `count` floats.
    /// - Throws: `GGUFError` (path `"<memory>"`) for unsupported types or short buffers.
    /// - Complexity: O(count), single-threaded.
    public static func rows(type: GGMLType, raw: UnsafeRawBufferPointer, count: Int,
                            into: UnsafeMutableBufferPointer<Float>) throws {
        try check(type: type, raw: raw, count: count, into: into, tensor: "<buffer>", path: "<memory>")
        guard count > 0 else { return }
        decode(type: type, src: raw.baseAddress!, blocks: count / type.blockSize, dst: into.baseAddress!)
    }

    static func check(type: GGMLType, raw: UnsafeRawBufferPointer, count: Int,
                      into: UnsafeMutableBufferPointer<Float>, tensor: String, path: String) throws {
        guard type.isSupportedForDequantization else {
            throw GGUFError(.unsupportedTensorType(tensor: tensor, type: type), path: path)
        }
        guard count >= 0, count % type.blockSize == 0 else {
            throw GGUFError(.invalidTensor(tensor: tensor,
                reason: "element count \(count) is not a multiple of the \(type.name) block size \(type.blockSize)"), path: path)
        }
        let need = count / type.blockSize * type.blockBytes
        guard raw.count >= need else {
            throw GGUFError(.bufferSize(tensor: tensor, what: "raw \(type.name) buffer (bytes)",
                                        got: raw.count, expected: need), path: path)
        }
        guard into.count >= count else {
            throw GGUFError(.bufferSize(tensor: tensor, what: "output buffer (floats)",
                                        got: into.count, expected: count), path: path)
        }
    }

    /// Like `rows`, but splits large inputs into block ranges decoded with
    /// `DispatchQueue.concurrentPerform`.
    static func parallelRows(type: GGMLType, raw: UnsafeRawBufferPointer, count: Int,
                             into: UnsafeMutableBufferPointer<Float>, tensor: String, path: String) throws {
        try check(type: type, raw: raw, count: count, into: into, tensor: tensor, path: path)
        guard count > 0 else { return }
        let blocks = count / type.blockSize
        let minBlocksPerChunk = 65_536 / type.blockSize  // ≥ 64K elements per task
        let workers = min(ProcessInfoLite.activeProcessorCount, blocks / max(minBlocksPerChunk, 1))
        let src = raw.baseAddress!
        let dst = into.baseAddress!
        if workers <= 1 {
            decode(type: type, src: src, blocks: blocks, dst: dst)
            return
        }
        let per = (blocks + workers - 1) / workers
        // Each iteration writes a disjoint range of `dst`, so sharing the pointers is race-free.
        let job = UnsafeJob(src: src, dst: dst)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let b0 = w * per
            let b1 = min(blocks, b0 + per)
            if b0 < b1 {
                decode(type: type, src: job.src + b0 * type.blockBytes, blocks: b1 - b0,
                       dst: job.dst + b0 * type.blockSize)
            }
        }
    }

    /// Decodes `blocks` whole blocks. No checks: callers validated sizes.
    static func decode(type: GGMLType, src: UnsafeRawPointer, blocks: Int, dst: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32:
            UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: blocks &* 4)
        case .f16:
            Half.table.withUnsafeBufferPointer { tab in
                let t = tab.baseAddress!
                for i in 0..<blocks {
                    let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self))
                    dst[i] = t[Int(h)]
                }
            }
        case .q8_0:
            for b in 0..<blocks {
                let blk = src + b &* 34
                let d = Half.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                let o = dst + b &* 32
                for j in 0..<32 {
                    o[j] = Float(blk.load(fromByteOffset: 2 &+ j, as: Int8.self)) * d
                }
            }
        case .q4_0:
            for b in 0..<blocks {
                let blk = src + b &* 18
                let d = Half.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                let o = dst + b &* 32
                for j in 0..<16 {
                    let q = blk.load(fromByteOffset: 2 &+ j, as: UInt8.self)
                    o[j] = Float(Int32(q & 0x0F) &- 8) * d
                    o[j &+ 16] = Float(Int32(q >> 4) &- 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let blk = src + b &* 20
                let d = Half.toFloat(UInt16(littleEndian: blk.loadUnaligned(as: UInt16.self)))
                let m = Half.toFloat(UInt16(littleEndian: blk.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
                let o = dst + b &* 32
                for j in 0..<16 {
                    let q = blk.load(fromByteOffset: 4 &+ j, as: UInt8.self)
                    o[j] = Float(q & 0x0F) * d + m
                    o[j &+ 16] = Float(q >> 4) * d + m
                }
            }
        default:
            preconditionFailure("decode called for unsupported type \(type.name)")
        }
    }
}

/// Raw source/destination pointers handed to `concurrentPerform` workers.
// @unchecked Sendable: workers only read `src` (immutable mapped/borrowed bytes) and write
// disjoint block ranges of `dst`; `concurrentPerform` returns only after all workers finish,
// so neither buffer outlives its owner's borrow.
private struct UnsafeJob: @unchecked Sendable {
    let src: UnsafeRawPointer
    let dst: UnsafeMutablePointer<Float>
}

/// Processor count without Foundation.
enum ProcessInfoLite {
    static let activeProcessorCount: Int = {
        #if canImport(Glibc)
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return max(1, n)
        #else
        return 1
        #endif
    }()
}
