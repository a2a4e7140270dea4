import Foundation

/// A ggml block-quantized storage format the matrix-vector kernel reads directly.
///
/// Every format packs 32 consecutive weights of one row into one block (little-endian, unaligned):
/// - `q8_0` (34 bytes): f16 `d`, 32 × int8 `q`; `w[j] = d · q[j]`.
/// - `q4_0` (18 bytes): f16 `d`, 16 bytes `qs`; `w[j] = d · ((qs[j] & 15) − 8)`,
///   `w[j+16] = d · ((qs[j] >> 4) − 8)` for j in 0..<16.
/// - `q4_1` (20 bytes): f16 `d`, f16 `m`, 16 bytes `qs`; `w[j] = d · (qs[j] & 15) + m`,
///   `w[j+16] = d · (qs[j] >> 4) + m`.
///
/// These are the layouts `GGUF.Dequantize` decodes to f32 (llama.cpp `dequantize_row_*`).
public enum QuantizedFormat: Sendable, CaseIterable {
    case q8_0, q4_0, q4_1

    /// Weights per block (32 for every format).
    public static let blockSize = 32

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .q8_0: return 34
        case .q4_0: return 18
        case .q4_1: return 20
        }
    }
}

/// A row-major `[rows, columns]` weight matrix stored as ggml blocks in memory the caller owns
/// (typically a memory-mapped GGUF tensor: ggml dims `[columns, rows]`, `ne0` fastest).
///
/// Row `r` is the `columns / 32` blocks starting at byte `r · columns / 32 · blockBytes`.
///
/// Lifetime: the matrix keeps only a pointer. Whoever builds it must keep the memory alive and
/// unmodified for as long as the matrix is used (`LlamaModel` holds the `GGUFFile` whose mapping
/// the pointer points into).
public struct QuantizedMatrix: @unchecked Sendable {
    // @unchecked Sendable: `base` points to read-only memory (a PROT_READ mapping or a buffer the
    // owner never writes after construction); the kernel only loads from it.
    public let format: QuantizedFormat
    /// Output features (rows of W).
    public let rows: Int
    /// Input features (columns of W), a multiple of 32.
    public let columns: Int
    /// First byte of block 0 of row 0.
    public let base: UnsafeRawPointer

    /// Bytes of one row.
    public var rowBytes: Int { columns / QuantizedFormat.blockSize * format.blockBytes }
    /// Bytes of the whole matrix.
    public var byteCount: Int { rows * rowBytes }

    /// Wraps `bytes` as a `[rows, columns]` matrix of `format` blocks.
    ///
    /// - Precondition: `columns` is a positive multiple of 32, `rows ≥ 0`, and `bytes` holds at
    ///   least `rows · columns / 32 · format.blockBytes` bytes.
    public init(format: QuantizedFormat, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer) {
        precondition(columns > 0 && columns % QuantizedFormat.blockSize == 0,
                     "QuantizedMatrix: columns \(columns) must be a positive multiple of \(QuantizedFormat.blockSize)")
        precondition(rows >= 0, "QuantizedMatrix: negative rows \(rows)")
        let need = rows * (columns / QuantizedFormat.blockSize) * format.blockBytes
        precondition(bytes.count >= need,
                     "QuantizedMatrix: \(format) [\(rows), \(columns)] needs \(need) bytes, got \(bytes.count)")
        self.format = format
        self.rows = rows
        self.columns = columns
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
    }
}

/// `y = W · x` straight from quantized blocks (no f32 copy of W): the decode-step Linear layer.
///
/// Per block of 32 weights the kernel widens the integers to `SIMD8<Float>` (AVX2 `vpmovzxbd` /
/// `vpmovsxbd` + `vcvtdq2ps`), forms `s = Σ q·x` with four FMAs and adds `d · s` to a SIMD8
/// accumulator; Q4_1's offset contributes `m · Σx_block`, with the 32-element sums of `x` computed
/// once per call. Q4_0's `q − 8` is taken in integers (exact). So the result equals
/// dequantize-then-dot up to the order and grouping of the float roundings.
///
/// Threads: the stacked output rows are split into `8 · workers` contiguous chunks run with
/// `DispatchQueue.concurrentPerform` (on the calling thread alone when the product is small).
public enum QuantizedMatVec {
    /// Worker count used when the caller gives none: `STARSIM_MATVEC_WORKERS` if set to a positive
    /// integer (to measure this kernel alone), else `BLAS.defaultWorkers`.
    public static let defaultWorkers: Int = {
        if let s = ProcessInfo.processInfo.environment["STARSIM_MATVEC_WORKERS"], let n = Int(s), n > 0 { return n }
        return BLAS.defaultWorkers
    }()

    /// Below this many weights a product runs on the calling thread (dispatch costs more).
    public static let parallelThreshold = 128 * 1024

    /// `y[0..<Σ rows] (+)= [W₀; W₁; …] · x` for matrices stacked along the output dimension (e.g.
    /// Wq, Wk, Wv as one fused projection).
    ///
    /// - Parameters:
    ///   - matrices: all with the same `columns`; their rows are concatenated in order.
    ///   - x: `[columns]`.
    ///   - y: `[Σ rows]`; read only when `accumulate`.
    ///   - accumulate: add into `y` (e.g. a residual) instead of overwriting it.
    ///   - workers: threads to split the rows over (≥ 1; 1 runs on the caller's thread).
    /// - Complexity: 2 · Σrows · columns FLOP, reading `Σ byteCount` bytes of W once.
    public static func multiply(
        _ matrices: [QuantizedMatrix], x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
        accumulate: Bool, workers: Int = defaultWorkers
    ) {
        guard let first = matrices.first else { return }
        let columns = first.columns
        precondition(matrices.allSatisfy { $0.columns == columns },
                     "QuantizedMatVec.multiply: matrices have different column counts \(matrices.map(\.columns))")
        let totalRows = matrices.reduce(0) { $0 + $1.rows }
        if totalRows == 0 { return }
        let blocks = columns / QuantizedFormat.blockSize
        // Σx per block, for Q4_1's `m` term.
        let blockSums = UnsafeMutablePointer<Float>.allocate(capacity: blocks)
        defer { blockSums.deallocate() }
        for b in 0..<blocks {
            let xb = x + b &* 32
            let s = (load(xb) + load(xb + 8)) + (load(xb + 16) + load(xb + 24))
            blockSums[b] = FastMath.horizontalSum(s)
        }
        let job = Job(x: x, blockSums: UnsafePointer(blockSums), y: y)
        if workers <= 1 || totalRows * columns < parallelThreshold {
            run(matrices, rows: 0..<totalRows, job: job, accumulate: accumulate)
            return
        }
        // 8 chunks per worker, handed out dynamically by `concurrentPerform` (the calling thread
        // works too): a pool thread that wakes late takes fewer chunks instead of making the
        // caller wait for a fixed half (a decode product is only ~0.1 ms of work).
        let chunks = min(totalRows, 8 * workers)
        let per = (totalRows + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { w in
            let lo = w * per, hi = min(totalRows, lo + per)
            if lo < hi { run(matrices, rows: lo..<hi, job: job, accumulate: accumulate) }
        }
    }

    /// Computes the stacked output rows `rows` (global indices over all matrices).
    private static func run(_ matrices: [QuantizedMatrix], rows: Range<Int>, job: Job, accumulate: Bool) {
        var offset = 0
        for m in matrices {
            let lo = max(rows.lowerBound, offset), hi = min(rows.upperBound, offset + m.rows)
            if lo < hi {
                rowsOf(m, rows: (lo - offset)..<(hi - offset), job: job, y: job.y + offset, accumulate: accumulate)
            }
            offset += m.rows
            if offset >= rows.upperBound { break }
        }
    }

    /// `y[r] (+)= W[r, :] · x` for `r` in `rows` of one matrix.
    private static func rowsOf(_ m: QuantizedMatrix, rows: Range<Int>, job: Job,
                               y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let blocks = m.columns / QuantizedFormat.blockSize
        let rowBytes = m.rowBytes
        for r in rows {
            let row = m.base + r &* rowBytes
            let v: Float
            switch m.format {
            case .q4_1: v = dotQ4_1(row, blocks: blocks, x: job.x, blockSums: job.blockSums)
            case .q4_0: v = dotQ4_0(row, blocks: blocks, x: job.x)
            case .q8_0: v = dotQ8_0(row, blocks: blocks, x: job.x)
            }
            y[r] = accumulate ? y[r] + v : v
        }
    }

    // MARK: - Block dot products

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    /// Per-lane partial sums of one 32-weight block times `x[0..<32]`: `w0·x[0..<8] + … + w3·x[24..<32]`.
    @inline(__always)
    private static func dot32(_ w0: SIMD8<Float>, _ w1: SIMD8<Float>, _ w2: SIMD8<Float>, _ w3: SIMD8<Float>,
                              _ x: UnsafePointer<Float>) -> SIMD8<Float> {
        var s = w0 * load(x)
        s = s.addingProduct(w1, load(x + 8))
        s = s.addingProduct(w2, load(x + 16))
        return s.addingProduct(w3, load(x + 24))
    }

    @inline(__always)
    private static func float(_ q: SIMD8<UInt8>) -> SIMD8<Float> { SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: q)) }

    @inline(__always)
    private static func float(_ q: SIMD8<Int8>) -> SIMD8<Float> { SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: q)) }

    /// Σ over `blocks` Q4_1 blocks of `d·Σ q·x + m·Σx`.
    @inline(__always)
    private static func dotQ4_1(_ row: UnsafeRawPointer, blocks: Int, x: UnsafePointer<Float>,
                                blockSums: UnsafePointer<Float>) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var offsetTerm: Float = 0
        for b in 0..<blocks {
            let blk = row + b &* 20
            let d = half(blk, 0), m = half(blk, 2)
            let qs = blk.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
            let lo = qs & 0x0F, hi = qs &>> 4
            let xb = x + b &* 32
            let s = dot32(float(lo.lowHalf), float(lo.highHalf), float(hi.lowHalf), float(hi.highHalf), xb)
            acc = acc.addingProduct(s, SIMD8(repeating: d))
            offsetTerm = offsetTerm.addingProduct(m, blockSums[b])
        }
        return FastMath.horizontalSum(acc) + offsetTerm
    }

    /// Σ over `blocks` Q4_0 blocks of `d·Σ (q−8)·x`.
    @inline(__always)
    private static func dotQ4_0(_ row: UnsafeRawPointer, blocks: Int, x: UnsafePointer<Float>) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        for b in 0..<blocks {
            let blk = row + b &* 18
            let d = half(blk, 0)
            let qs = blk.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
            let lo = SIMD16<Int8>(truncatingIfNeeded: qs & 0x0F) &- 8
            let hi = SIMD16<Int8>(truncatingIfNeeded: qs &>> 4) &- 8
            let xb = x + b &* 32
            let s = dot32(float(lo.lowHalf), float(lo.highHalf), float(hi.lowHalf), float(hi.highHalf), xb)
            acc = acc.addingProduct(s, SIMD8(repeating: d))
        }
        return FastMath.horizontalSum(acc)
    }

    /// Σ over `blocks` Q8_0 blocks of `d·Σ q·x`.
    @inline(__always)
    private static func dotQ8_0(_ row: UnsafeRawPointer, blocks: Int, x: UnsafePointer<Float>) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        for b in 0..<blocks {
            let blk = row + b &* 34
            let d = half(blk, 0)
            let q = blk.loadUnaligned(fromByteOffset: 2, as: SIMD32<Int8>.self)
            let xb = x + b &* 32
            let s = dot32(float(q.lowHalf.lowHalf), float(q.lowHalf.highHalf), float(q.highHalf.lowHalf),
                          float(q.highHalf.highHalf), xb)
            acc = acc.addingProduct(s, SIMD8(repeating: d))
        }
        return FastMath.horizontalSum(acc)
    }

    /// Pointers shared by the workers of one `multiply`.
    // @unchecked Sendable: workers only read `x` and `blockSums` and write disjoint row ranges of
    // `y`; `concurrentPerform` returns after every worker finished, inside the caller's borrow.
    private struct Job: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let blockSums: UnsafePointer<Float>
        let y: UnsafeMutablePointer<Float>
    }
}
