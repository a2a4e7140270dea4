import Dispatch
import Foundation

/// Tiled ("flash") attention with an online softmax and log-sum-exp output.
///
/// For each KV head and each tile of `queryTile` query rows, the query rows of all `heads/kvHeads`
/// query heads sharing that KV head are packed query-major into one `[group·queryTile, headDim]`
/// block (row `i·group + h` = head `h` of query `i`, so a run of queries is a run of rows); then for
/// each tile of `keyTile` keys: `S = scale·log2(e) · Q·Kᵀ` (one `sgemm`), the masked online softmax
/// in base 2 (running max `m`, running sum `l`, accumulator rescaled when `m` grows), and `O += P·V`
/// (one `sgemm`). Memory is tile buffers only; no `[nq, nk]` matrix exists.
///
/// Visibility: key `j` is visible to query `i` iff `keyPositions[j] <= queryPositions[i]`. This one
/// rule covers causal prefill, Star Attention's anchor + block (with a position jump) and queries that
/// see a whole earlier shard. Per tile, with the min/max positions of its queries and keys: a tile
/// whose every key is after every query is skipped; a tile whose every key is visible to every
/// query needs no mask and runs as one pair of `sgemm`s over all rows; otherwise (the causal
/// diagonal) it runs per sub-block of 64 queries, each sub-block again skipped, unmasked, or masked
/// elementwise with its trailing invisible keys trimmed before the `sgemm`s. Positions need not be
/// sorted, but sorted positions make tiles skip or go unmasked.
///
/// Few queries (decode, `nq = 1`): the key tile grows so one score tile holds ~64 K floats, and when
/// there are fewer than `targetItems` (KV head, query tile) items the keys are split into contiguous
/// ranges computed independently and merged by log-sum-exp (`LSEMerge`), which is exact up to
/// rounding. The split depends on the shape only, never on the worker count.
///
/// Threads: `configuration.workers` threads (`WorkSharing`) take work items and
/// run single-thread BLAS (`BLAS` pins OpenBLAS to one thread); this measured faster than one thread
/// driving 2-thread BLAS on these small `sgemm`s (4K causal: 63–66% vs 56–62% of a bare 2-thread
/// `sgemm`). Each item's arithmetic is the same whichever worker runs it, so the output is bitwise
/// the same for every worker count.
///
/// See Dao et al., "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
/// (2022), and Milakov & Gimelshein, "Online normalizer calculation for softmax" (2018).
public enum FlashAttention {
    /// Tile sizes and parallelism.
    public struct Configuration: Sendable, Hashable {
        /// Query rows (per head) in one tile. Rows per `sgemm` = `queryTile · heads/kvHeads`.
        public var queryTile: Int
        /// Keys in one tile.
        public var keyTile: Int
        /// Parallel workers over (KV head, query tile, key split) items. Changes speed, not results.
        public var workers: Int

        public init(queryTile: Int, keyTile: Int, workers: Int) {
            precondition(queryTile > 0 && keyTile > 0 && workers > 0,
                "FlashAttention.Configuration: queryTile \(queryTile), keyTile \(keyTile), workers \(workers) must be positive")
            self.queryTile = queryTile
            self.keyTile = keyTile
            self.workers = workers
        }

        /// Tiles chosen by measurement (2026-11-23, 2-vCPU SkylakeX VM, OpenBLAS AVX-512 kernels, one
        /// thread, 4K causal, GFLOP/s per CPU-second): 256×256 ran 97 vs 88–92 for 64×256 and
        /// 96–97 for 384×256 or 256×384. Large query tiles amortise the packing of each K/V tile over
        /// `3·256` rows; the causal diagonal is still computed in `maskedBlock`-query sub-blocks, so
        /// the wasted masked work does not grow with the tile. A worker's buffers are ≈ 1.2 MB
        /// (scores 768×256, accumulator and packed queries 768×64), inside a 2 MB L2. One worker per
        /// active CPU, or `STARSIM_WORKERS` (`BLAS.defaultWorkers`, read once per process).
        public static let `default` = Configuration(queryTile: 256, keyTile: 256, workers: BLAS.defaultWorkers)
    }

    /// Attention of `nq = queryPositions.count` queries over `nk = keyPositions.count` keys.
    ///
    /// - Parameters:
    ///   - queries: `[nq, heads*headDim]`.
    ///   - queryPositions: `nq` positions.
    ///   - keys, values: `[nk, kvHeads*headDim]`.
    ///   - keyPositions: `nk` positions.
    ///   - output: `[nq, heads*headDim]`, written (rows that see no key get 0).
    ///   - lse: `[nq, heads]`, natural log of the softmax denominator; `-∞` for a row that sees no key.
    ///   `output` and `lse` must not overlap the inputs.
    /// - Complexity: 4·headDim·heads·(visible pairs, rounded up to tiles) FLOP, plus one exp per
    ///   computed logit; memory O(workers · queryTile · group · keyTile).
    public static func attend(
        geometry: AttentionGeometry,
        queries: UnsafePointer<Float>, queryPositions: UnsafeBufferPointer<Int32>,
        keys: UnsafePointer<Float>, values: UnsafePointer<Float>, keyPositions: UnsafeBufferPointer<Int32>,
        output: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
        configuration: Configuration = .default
    ) {
        let nq = queryPositions.count
        let nk = keyPositions.count
        if nq == 0 { return }
        guard nk > 0, let qpos = queryPositions.baseAddress, let kpos = keyPositions.baseAddress else {
            output.update(repeating: 0, count: nq * geometry.queryWidth)
            lse.update(repeating: -.infinity, count: nq * geometry.heads)
            return
        }
        let g = geometry.groupSize
        let bq = min(configuration.queryTile, nq)
        let queryTiles = (nq + bq - 1) / bq
        let rowsPerTile = bq * g

        // Few (KV head, query tile) items — decode, or a handful of queries — cannot keep the workers
        // busy: then the keys are also split into contiguous ranges, each range's partial result is
        // computed independently and the ranges are merged by log-sum-exp at the end.
        let baseItems = queryTiles * geometry.kvHeads
        var splits = 1
        if baseItems < Self.targetItems && nk >= 2 * Self.minimumKeysPerSplit {
            splits = min((Self.targetItems + baseItems - 1) / baseItems, nk / Self.minimumKeysPerSplit)
        }
        let keysPerSplit = (nk + splits - 1) / splits
        // Key tile: the configured size, grown when there are few rows so that one S buffer holds
        // about `scoreBudget` floats (fewer, larger sgemm calls in decode), never beyond one split.
        let grown = max(configuration.keyTile, (Self.scoreBudget / rowsPerTile) & ~63)
        let bk = min(grown, keysPerSplit)
        let tilesPerSplit = (keysPerSplit + bk - 1) / bk
        splits = (nk + keysPerSplit - 1) / keysPerSplit
        let keyTiles = splits * tilesPerSplit

        // Min/max position of every key tile, computed once. Tile t of split s covers keys
        // [s·keysPerSplit + (t mod tilesPerSplit)·bk, …) clipped to the split.
        let keyBounds = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * keyTiles)
        defer { keyBounds.deallocate() }
        for t in 0..<keyTiles {
            let (lo, hi) = Problem.tileRange(t, bk: bk, tilesPerSplit: tilesPerSplit, keysPerSplit: keysPerSplit, nk: nk)
            var mn = Int32.max  // an empty tile (past the end of a short split) is always skipped
            var mx = Int32.min
            for j in lo..<max(lo, hi) {
                mn = min(mn, kpos[j])
                mx = max(mx, kpos[j])
            }
            keyBounds[2 * t] = mn
            keyBounds[2 * t + 1] = mx
        }

        // With splits, each split writes its own normalised output and lse, merged afterwards.
        let splitOut: UnsafeMutablePointer<Float>
        let splitLSE: UnsafeMutablePointer<Float>
        if splits > 1 {
            splitOut = .allocate(capacity: splits * nq * geometry.queryWidth)
            splitLSE = .allocate(capacity: splits * nq * geometry.heads)
        } else {
            splitOut = output
            splitLSE = lse
        }
        defer {
            if splits > 1 {
                splitOut.deallocate()
                splitLSE.deallocate()
            }
        }

        let problem = Problem(
            geometry: geometry, nq: nq, nk: nk, bq: bq, bk: bk, queryTiles: queryTiles,
            splits: splits, keysPerSplit: keysPerSplit, tilesPerSplit: tilesPerSplit,
            q: queries, qpos: qpos, k: keys, v: values, kpos: kpos, keyBounds: UnsafePointer(keyBounds),
            out: splitOut, lse: splitLSE)
        let items = baseItems * splits
        WorkSharing.forEach(items, workers: configuration.workers, state: { Scratch(problem: problem) },
                            release: { $0.free() }) { item, scratch in problem.run(item: item, scratch: scratch) }
        if splits > 1 {
            LSEMerge.merge(
                parts: splits, output: UnsafePointer(splitOut), lse: UnsafePointer(splitLSE),
                partOutputStride: nq * geometry.queryWidth, partLSEStride: nq * geometry.heads,
                rows: nq * geometry.heads, headDim: geometry.headDim, intoOutput: output, lse: lse)
        }
    }

    /// Work items below which the keys are split (enough for 8 workers at two items each). A
    /// constant, not the worker count, so that results do not depend on the machine's cores.
    static let targetItems = 16
    /// Smallest key range worth a separate work item when splitting keys.
    static let minimumKeysPerSplit = 256
    /// Target floats in one score tile `S` (rows × keys) when rows are few: 64 K floats = 256 KB.
    static let scoreBudget = 65_536

    /// Array convenience for `attend(geometry:queries:queryPositions:keys:values:keyPositions:output:lse:)`.
    ///
    /// - Parameters:
    ///   - queries: `[queryPositions.count, heads*headDim]`.
    ///   - keys, values: `[keyPositions.count, kvHeads*headDim]`.
    public static func attend(
        geometry: AttentionGeometry, queries: [Float], queryPositions: [Int32],
        keys: [Float], values: [Float], keyPositions: [Int32],
        configuration: Configuration = .default
    ) -> AttentionPartial {
        let nq = queryPositions.count
        let nk = keyPositions.count
        precondition(queries.count == nq * geometry.queryWidth,
            "FlashAttention.attend: queries has \(queries.count) floats, expected \(nq) positions × \(geometry.queryWidth)")
        precondition(keys.count == nk * geometry.kvWidth && values.count == nk * geometry.kvWidth,
            "FlashAttention.attend: keys/values have \(keys.count)/\(values.count) floats, expected \(nk) positions × \(geometry.kvWidth)")
        var output = [Float](repeating: 0, count: nq * geometry.queryWidth)
        var lse = [Float](repeating: 0, count: nq * geometry.heads)
        queries.withUnsafeBufferPointer { q in
            queryPositions.withUnsafeBufferPointer { qp in
                keys.withUnsafeBufferPointer { k in
                    values.withUnsafeBufferPointer { v in
                        keyPositions.withUnsafeBufferPointer { kp in
                            output.withUnsafeMutableBufferPointer { o in
                                lse.withUnsafeMutableBufferPointer { l in
                                    guard let qBase = q.baseAddress, let oBase = o.baseAddress,
                                        let lBase = l.baseAddress
                                    else { return }
                                    // Empty key arrays have no base address; any valid pointer will do
                                    // since nothing is read when nk == 0.
                                    let kBase = k.baseAddress ?? qBase
                                    let vBase = v.baseAddress ?? qBase
                                    attend(
                                        geometry: geometry, queries: qBase, queryPositions: qp,
                                        keys: kBase, values: vBase, keyPositions: kp, output: oBase,
                                        lse: lBase, configuration: configuration)
                                }
                            }
                        }
                    }
                }
            }
        }
        return AttentionPartial(output: output, lse: lse, queries: nq, geometry: geometry)
    }
}

/// Per-worker tile buffers.
private struct Scratch {
    let qPack: UnsafeMutablePointer<Float>   // [rows, headDim]
    let acc: UnsafeMutablePointer<Float>     // [rows, headDim]
    let s: UnsafeMutablePointer<Float>       // [rows, ldS]
    let m: UnsafeMutablePointer<Float>       // [rows]
    let l: UnsafeMutablePointer<Float>       // [rows]
    let subBounds: UnsafeMutablePointer<Int32>  // [2 · sub-blocks]: min, max query position
    let ldS: Int

    init(problem: Problem) {
        let rows = problem.bq * problem.geometry.groupSize
        let d = problem.geometry.headDim
        ldS = (problem.bk + 15) & ~15
        qPack = .allocate(capacity: rows * d)
        acc = .allocate(capacity: rows * d)
        s = .allocate(capacity: rows * ldS)
        m = .allocate(capacity: rows)
        l = .allocate(capacity: rows)
        subBounds = .allocate(capacity: 2 * ((problem.bq + Problem.maskedBlock - 1) / Problem.maskedBlock))
    }

    func free() {
        qPack.deallocate()
        acc.deallocate()
        s.deallocate()
        m.deallocate()
        l.deallocate()
        subBounds.deallocate()
    }
}

/// One attention call's inputs and outputs as raw pointers.
/// `@unchecked Sendable`: workers only read the inputs, and each work item (KV head, query tile)
/// writes a disjoint set of (row, head) entries of `out` and `lse`; the caller keeps all buffers
/// alive and unaliased for the duration of `attend`, which returns only after every worker finished.
private struct Problem: @unchecked Sendable {
    let geometry: AttentionGeometry
    let nq: Int
    let nk: Int
    let bq: Int
    let bk: Int
    let queryTiles: Int
    let splits: Int
    let keysPerSplit: Int
    let tilesPerSplit: Int
    let q: UnsafePointer<Float>
    let qpos: UnsafePointer<Int32>
    let k: UnsafePointer<Float>
    let v: UnsafePointer<Float>
    let kpos: UnsafePointer<Int32>
    let keyBounds: UnsafePointer<Int32>
    /// `[splits][nq, heads*headDim]`.
    let out: UnsafeMutablePointer<Float>
    /// `[splits][nq, heads]`.
    let lse: UnsafeMutablePointer<Float>

    /// Keys `[lo, hi)` of key tile `t`.
    static func tileRange(_ t: Int, bk: Int, tilesPerSplit: Int, keysPerSplit: Int, nk: Int) -> (Int, Int) {
        let split = t / tilesPerSplit
        let splitEnd = min(nk, (split + 1) * keysPerSplit)
        let lo = split * keysPerSplit + (t % tilesPerSplit) * bk
        return (lo, min(splitEnd, lo + bk))
    }

    /// Item order: query tiles from last to first (causal: most work first), then KV heads, then
    /// key splits.
    func run(item: Int, scratch: Scratch) {
        let split = item % splits
        let rest = item / splits
        let kvh = rest % geometry.kvHeads
        let qt = queryTiles - 1 - rest / geometry.kvHeads
        attendTile(
            kvHead: kvh, queryStart: qt * bq, queryCount: min(bq, nq - qt * bq),
            keyTiles: (split * tilesPerSplit)..<((split + 1) * tilesPerSplit),
            out: out + split * nq * geometry.queryWidth, lse: lse + split * nq * geometry.heads,
            scratch: scratch)
    }

    func attendTile(
        kvHead kvh: Int, queryStart q0: Int, queryCount nqt: Int, keyTiles: Range<Int>,
        out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>, scratch: Scratch
    ) {
        let g = geometry.groupSize
        let d = geometry.headDim
        let qW = geometry.queryWidth
        let rows = g * nqt
        let gd = g * d

        // Pack the group's query rows query-major: row r = i·g + hh holds head kvh·g + hh of query
        // q0 + i. The g heads of one query are adjacent in the input, so each query is one copy, and
        // the rows of a run of queries are contiguous (the masked sub-blocks below rely on that).
        for i in 0..<nqt {
            (scratch.qPack + i * gd).update(from: q + (q0 + i) * qW + kvh * gd, count: gd)
        }
        // Position bounds of the whole tile and of each masked sub-block of `maskedBlock` queries.
        let sub = min(Self.maskedBlock, nqt)
        let subBlocks = (nqt + sub - 1) / sub
        var qmin = Int32.max
        var qmax = Int32.min
        for b in 0..<subBlocks {
            var mn = Int32.max
            var mx = Int32.min
            for i in (b * sub)..<min(nqt, (b + 1) * sub) {
                mn = min(mn, qpos[q0 + i])
                mx = max(mx, qpos[q0 + i])
            }
            scratch.subBounds[2 * b] = mn
            scratch.subBounds[2 * b + 1] = mx
            qmin = min(qmin, mn)
            qmax = max(qmax, mx)
        }
        scratch.m.update(repeating: -.infinity, count: rows)
        scratch.l.update(repeating: 0, count: rows)
        scratch.acc.update(repeating: 0, count: rows * d)

        for kt in keyTiles {
            let kmin = keyBounds[2 * kt]
            let kmax = keyBounds[2 * kt + 1]
            if kmin > qmax { continue }
            let (k0, k1) = Self.tileRange(kt, bk: bk, tilesPerSplit: tilesPerSplit, keysPerSplit: keysPerSplit, nk: nk)
            if k1 <= k0 { continue }
            if kmax <= qmin {
                // Every key visible to every query: one pair of sgemms over all rows.
                update(queryStart: q0, firstQuery: 0, queries: nqt, keyStart: k0, keys: k1 - k0,
                       masked: false, kvHead: kvh, scratch: scratch)
                continue
            }
            // Partly visible (the causal diagonal): per sub-block of queries, so that keys invisible
            // to a whole sub-block are skipped or trimmed and the masked work stays O(sub²) per tile.
            for b in 0..<subBlocks {
                let smin = scratch.subBounds[2 * b]
                let smax = scratch.subBounds[2 * b + 1]
                if kmin > smax { continue }
                var nkt = k1 - k0
                let unmasked = kmax <= smin
                if !unmasked {
                    // Trailing keys invisible to every query of the sub-block (the causal diagonal
                    // with sorted positions) need neither logits nor values.
                    while nkt > 0 && kpos[k0 + nkt - 1] > smax { nkt -= 1 }
                    if nkt == 0 { continue }
                }
                let first = b * sub
                update(queryStart: q0, firstQuery: first, queries: min(nqt, first + sub) - first,
                       keyStart: k0, keys: nkt, masked: !unmasked, kvHead: kvh, scratch: scratch)
            }
        }

        let ln2 = 0.6931471805599453
        for r in 0..<rows {
            let i = r / g
            let h = kvh * g + r % g
            let dst = out + (q0 + i) * qW + h * d
            let l = scratch.l[r]
            if l > 0 {
                SoftmaxRow.scale(scratch.acc + r * d, count: d, by: 1 / l, into: dst)
                lse[(q0 + i) * geometry.heads + h] = Float((Double(scratch.m[r]) + log2(Double(l))) * ln2)
            } else {
                dst.update(repeating: 0, count: d)
                lse[(q0 + i) * geometry.heads + h] = -.infinity
            }
        }
    }

    /// One online-softmax step for queries `q0 + firstQuery ..< q0 + firstQuery + queries` (rows
    /// `firstQuery·g ..< (firstQuery + queries)·g` of the packed tile) over keys `keyStart ..< keyStart
    /// + keys`: `S = Q·Kᵀ`, mask (when `masked`), rescale, `P = 2^(S − m)`, `acc += P·V`.
    @inline(__always)
    func update(
        queryStart q0: Int, firstQuery: Int, queries: Int, keyStart k0: Int, keys nkt: Int,
        masked: Bool, kvHead kvh: Int, scratch: Scratch
    ) {
        let g = geometry.groupSize
        let d = geometry.headDim
        let kvW = geometry.kvWidth
        let ldS = scratch.ldS
        let r0 = firstQuery * g
        let rows = queries * g
        let kTile = k + k0 * kvW + kvh * d
        let vTile = v + k0 * kvW + kvh * d
        let alpha = geometry.scale * FastMath.log2e
        BLAS.sgemm(
            transA: false, transB: true, m: rows, n: nkt, k: d, alpha: alpha,
            a: scratch.qPack + r0 * d, lda: d, b: kTile, ldb: kvW, beta: 0, c: scratch.s, ldc: ldS)
        for r in 0..<rows {
            let row = scratch.s + r * ldS
            let rowMax =
                masked
                ? SoftmaxRow.maskAndMax(row, count: nkt, keyPositions: kpos + k0, queryPosition: qpos[q0 + firstQuery + r / g])
                : SoftmaxRow.max(row, count: nkt)
            let mOld = scratch.m[r0 + r]
            let mNew = Swift.max(mOld, rowMax)
            if mNew == -.infinity {
                // Nothing visible to this row so far: P = 0, state unchanged.
                row.update(repeating: 0, count: nkt)
                continue
            }
            let sum = SoftmaxRow.exp2Shifted(row, count: nkt, shift: mNew)
            if mOld != mNew {
                let correction = FastMath.exp2(mOld - mNew)  // 0 when mOld = -∞
                scratch.l[r0 + r] = scratch.l[r0 + r] * correction + sum
                SoftmaxRow.scale(scratch.acc + (r0 + r) * d, count: d, by: correction)
                scratch.m[r0 + r] = mNew
            } else {
                scratch.l[r0 + r] += sum
            }
        }
        BLAS.sgemm(
            transA: false, transB: false, m: rows, n: d, k: nkt, alpha: 1,
            a: scratch.s, lda: ldS, b: vTile, ldb: kvW, beta: 1, c: scratch.acc + r0 * d, ldc: d)
    }

    /// Queries per sub-block when a key tile is only partly visible to a query tile.
    static let maskedBlock = 64
}

/// Vectorised row operations of the online softmax.
enum SoftmaxRow {
    /// Max of `row[0..<count]`; -∞ for count 0.
    @inline(__always)
    static func max(_ row: UnsafeMutablePointer<Float>, count n: Int) -> Float {
        // Four independent accumulators hide the latency of `vmaxps`.
        var m0 = SIMD8<Float>(repeating: -.infinity)
        var m1 = m0
        var m2 = m0
        var m3 = m0
        var j = 0
        while j + 32 <= n {
            m0 = FastMath.max(m0, SIMD8Load.load(row + j))
            m1 = FastMath.max(m1, SIMD8Load.load(row + j + 8))
            m2 = FastMath.max(m2, SIMD8Load.load(row + j + 16))
            m3 = FastMath.max(m3, SIMD8Load.load(row + j + 24))
            j += 32
        }
        var mx = FastMath.max(FastMath.max(m0, m1), FastMath.max(m2, m3))
        while j + 8 <= n {
            mx = FastMath.max(mx, SIMD8Load.load(row + j))
            j += 8
        }
        var m = FastMath.horizontalMax(mx)
        while j < n {
            m = Swift.max(m, row[j])
            j += 1
        }
        return m
    }

    /// Sets `row[j] = -∞` where `keyPositions[j] > queryPosition`; returns the max of the result.
    @inline(__always)
    static func maskAndMax(
        _ row: UnsafeMutablePointer<Float>, count n: Int, keyPositions: UnsafePointer<Int32>,
        queryPosition: Int32
    ) -> Float {
        let qp = SIMD8<Int32>(repeating: queryPosition)
        let minusInf = SIMD8<Float>(repeating: -.infinity)
        var mx = minusInf
        var j = 0
        while j + 8 <= n {
            var x = SIMD8Load.load(row + j)
            x.replace(with: minusInf, where: SIMD8Load.load(keyPositions + j) .> qp)
            SIMD8Load.store(x, row + j)
            mx = FastMath.max(mx, x)
            j += 8
        }
        var m = FastMath.horizontalMax(mx)
        while j < n {
            if keyPositions[j] > queryPosition { row[j] = -.infinity }
            m = Swift.max(m, row[j])
            j += 1
        }
        return m
    }

    /// `row[j] = 2^(row[j] − shift)` in place; returns the sum. -∞ entries become 0.
    /// `shift` must be ≥ every entry (the row max), so the exponents are ≤ 0 (`exp2NonPositive`).
    @inline(__always)
    static func exp2Shifted(_ row: UnsafeMutablePointer<Float>, count n: Int, shift: Float) -> Float {
        let s = SIMD8<Float>(repeating: shift)
        // Two accumulators: the sum's add latency is not on the critical path of every vector.
        var acc0 = SIMD8<Float>(repeating: 0)
        var acc1 = acc0
        var j = 0
        while j + 16 <= n {
            let p0 = FastMath.exp2NonPositive(SIMD8Load.load(row + j) - s)
            let p1 = FastMath.exp2NonPositive(SIMD8Load.load(row + j + 8) - s)
            SIMD8Load.store(p0, row + j)
            SIMD8Load.store(p1, row + j + 8)
            acc0 += p0
            acc1 += p1
            j += 16
        }
        if j + 8 <= n {
            let p = FastMath.exp2NonPositive(SIMD8Load.load(row + j) - s)
            SIMD8Load.store(p, row + j)
            acc0 += p
            j += 8
        }
        var sum = FastMath.horizontalSum(acc0 + acc1)
        while j < n {
            let p = FastMath.exp2NonPositive(SIMD8<Float>(repeating: row[j] - shift))[0]
            row[j] = p
            sum += p
            j += 1
        }
        return sum
    }

    /// `x[i] *= factor` over `count` floats.
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, count n: Int, by factor: Float) {
        for i in 0..<n { x[i] *= factor }
    }

    /// `dst[i] = x[i] · factor` over `count` floats.
    @inline(__always)
    static func scale(_ x: UnsafePointer<Float>, count n: Int, by factor: Float, into dst: UnsafeMutablePointer<Float>) {
        for i in 0..<n { dst[i] = x[i] * factor }
    }
}
