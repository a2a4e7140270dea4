import Foundation
import Kernels
import Llama

/// Prefill and decode throughput of `LlamaModel` with exact global attention, next to a bare
/// `sgemm` of the model's projection shapes measured in the same run (the ratio is what matters on
/// a shared machine, not the absolute rate).
///
/// FLOPs counted per prefill of N tokens: `2·matmulParameters·N` (projections and MLP) +
/// `2·hidden·vocab` (one logit row) + `4·headDim·heads·layers·N(N+1)/2` (causal attention: Q·Kᵀ and
/// P·V over the visible pairs).
public enum ModelBenchmark {
    /// One prefill measurement.
    public struct Prefill: Codable, Sendable {
        public var tokens: Int
        public var seconds: Double
        /// Seconds spent inside the attention hook (FlashAttention), the rest is projections/MLP/etc.
        public var attentionSeconds: Double
        public var tokensPerSecond: Double { Double(tokens) / seconds }
        public var flops: Double
        public var gflopsPerSecond: Double { flops / seconds / 1e9 }
        /// Achieved GFLOP/s over the same-run bare sgemm GFLOP/s.
        public var fractionOfSGEMM: Double
        /// Peak resident set (VmHWM) during this prefill, bytes (reset before it when the kernel allows).
        public var peakRSSBytes: Int
        /// KV cache bytes after the prefill.
        public var kvCacheBytes: Int
    }

    /// Greedy decode measurement: `tokens` single-token steps after a `context`-token prompt, with
    /// the quantized and with the f32 decode path, next to bare weight passes of the same run.
    public struct Decode: Codable, Sendable {
        public var context: Int
        public var tokens: Int
        /// Seconds for the steps reading quantized blocks (`LlamaModel.DecodePath.quantized`); nil
        /// when the model has no quantized form (an F32/F16 file).
        public var quantizedSeconds: Double?
        /// Seconds for the same steps with f32 weights and `sgemv` (`.f32`).
        public var f32Seconds: Double
        public var quantizedTokensPerSecond: Double? { quantizedSeconds.map { Double(tokens) / $0 } }
        public var f32TokensPerSecond: Double { Double(tokens) / f32Seconds }
        /// Bare `sgemv` passes per second over every f32 weight matrix of the model (the bytes one
        /// f32 decode step must read), measured in the same run: the ceiling for f32 decode.
        public var bareWeightPassesPerSecond: Double
        /// Bare `QuantizedMatVec` passes per second over every quantized matrix (the bytes one
        /// quantized decode step reads), with the default worker count and with one worker.
        public var bareQuantizedPassesPerSecond: Double?
        public var bareQuantizedPassesPerSecondOneWorker: Double?
        public var fractionOfBareSGEMV: Double { f32TokensPerSecond / bareWeightPassesPerSecond }
    }

    /// Everything one run measured.
    public struct Report: Codable, Sendable, CustomStringConvertible {
        public var blasThreads: Int
        public var blasConfiguration: String
        public var chunkSize: Int
        public var modelLoadSeconds: Double
        public var weightBytes: Int
        /// Bytes of quantized blocks one quantized decode step reads (0 without a quantized form).
        public var quantizedWeightBytes: Int
        /// Bare sgemm over the projection shapes `[chunk, hidden]×[hidden, out]` (transB), GFLOP/s.
        public var sgemmGFLOPS: Double
        public var prefills: [Prefill]
        public var decode: Decode?

        public var description: String {
            func f(_ x: Double, _ d: Int = 1) -> String { String(format: "%.\(d)f", x) }
            var s = "Llama benchmark: \(BLAS.defaultWorkers) workers × \(blasThreads) OpenBLAS thread (\(blasConfiguration)), chunk \(chunkSize)\n"
            s += "model load \(f(modelLoadSeconds, 2)) s, f32 weights \(f(Double(weightBytes) / 1e6, 0)) MB, "
            s += "quantized blocks read per decode step \(f(Double(quantizedWeightBytes) / 1e6, 0)) MB\n"
            s += "bare sgemm, projection shapes: \(f(sgemmGFLOPS)) GFLOP/s\n"
            s += "tokens   seconds  tok/s   GFLOP/s  of-sgemm  attn-s   peakRSS-MB  KV-MB\n"
            for p in prefills {
                s += String(format: "%-8d %-8.2f %-7.1f %-8.1f %-9.2f %-8.2f %-11.0f %.0f\n",
                            p.tokens, p.seconds, p.tokensPerSecond, p.gflopsPerSecond, p.fractionOfSGEMM,
                            p.attentionSeconds, Double(p.peakRSSBytes) / 1e6, Double(p.kvCacheBytes) / 1e6)
            }
            if let d = decode {
                s += "decode: \(d.tokens) tokens after \(d.context)-token prompt\n"
                if let q = d.quantizedTokensPerSecond {
                    s += "  quantized weights (QuantizedMatVec): \(f(q)) tok/s = \(f(q / d.bareWeightPassesPerSecond, 2))× bare f32 sgemv"
                    if let b = d.bareQuantizedPassesPerSecond, let one = d.bareQuantizedPassesPerSecondOneWorker {
                        s += "; bare quantized pass \(f(b)) passes/s (1 worker: \(f(one)))"
                    }
                    s += "\n"
                }
                s += "  f32 weights (sgemv): \(f(d.f32TokensPerSecond)) tok/s = \(f(d.fractionOfBareSGEMV, 2))× bare f32 sgemv\n"
                s += "  bare f32 sgemv over all weights: \(f(d.bareWeightPassesPerSecond)) passes/s\n"
            }
            return s
        }
    }

    /// Runs prefills of each of `lengths` random tokens (exact global attention, fresh cache) and a
    /// decode of `decodeTokens` tokens after a `decodeContext`-token prompt.
    public static func run(
        model: LlamaModel, lengths: [Int] = [1024, 4096, 8192], decodeTokens: Int = 128,
        decodeContext: Int = 16, chunkSize: Int = LlamaModel.defaultChunkSize, seed: UInt64 = 1
    ) throws -> Report {
        let c = model.config
        var rng = SplitMix64(seed: seed)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(rng.next() % UInt64(c.vocabularySize)) } }

        let sgemm = bareSGEMM(config: c, rows: chunkSize)
        var prefills: [Prefill] = []
        for n in lengths {
            let prompt = tokens(n)
            let positions = (0..<Int32(n)).map { $0 }
            var hook = TimedHook(inner: GlobalAttention(config: c, reservingTokens: n))
            Memory.resetPeak()
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try model.forward(tokens: prompt, positions: positions, hook: &hook, logitRows: [n - 1],
                                  chunkSize: chunkSize)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let pairs = Double(n) * Double(n + 1) / 2
            let flops = 2 * Double(c.matmulParametersPerToken) * Double(n) + 2 * Double(c.hiddenSize * c.vocabularySize)
                + 4 * Double(c.headDim * c.headCount * c.layerCount) * pairs
            prefills.append(Prefill(
                tokens: n, seconds: seconds, attentionSeconds: hook.seconds, flops: flops,
                fractionOfSGEMM: flops / seconds / 1e9 / sgemm, peakRSSBytes: Memory.peakResidentBytes(),
                kvCacheBytes: hook.inner.cache.byteCount))
        }
        var decode: Decode?
        if decodeTokens > 0 {
            let prompt = tokens(decodeContext)
            func timeDecode(_ m: LlamaModel) throws -> Double {
                var hook = GlobalAttention(config: c, reservingTokens: decodeContext + decodeTokens)
                var logits = try m.forward(tokens: prompt, positions: (0..<Int32(decodeContext)).map { $0 }, hook: &hook)
                let start = DispatchTime.now().uptimeNanoseconds
                for i in 0..<decodeTokens {
                    let next = LlamaModel.argmax(logits)
                    logits = try m.forward(tokens: [next], positions: [Int32(decodeContext + i)], hook: &hook)
                }
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            let quantizedModel = model.with(decodePath: .quantized)
            let hasQuantized = quantizedModel.decodesQuantized
            let bare = bareWeightPasses(model: model)
            let f32Seconds = try timeDecode(model.with(decodePath: .f32))
            let quantizedSeconds = hasQuantized ? try timeDecode(quantizedModel) : nil
            decode = Decode(
                context: decodeContext, tokens: decodeTokens, quantizedSeconds: quantizedSeconds, f32Seconds: f32Seconds,
                bareWeightPassesPerSecond: bare,
                bareQuantizedPassesPerSecond: hasQuantized ? bareQuantizedPasses(model: model) : nil,
                bareQuantizedPassesPerSecondOneWorker: hasQuantized ? bareQuantizedPasses(model: model, workers: 1) : nil)
        }
        return Report(
            blasThreads: BLAS.threadCount, blasConfiguration: BLAS.configuration, chunkSize: chunkSize,
            modelLoadSeconds: model.loadSeconds, weightBytes: model.weightBytes,
            quantizedWeightBytes: model.quantizedWeightBytes, sgemmGFLOPS: sgemm,
            prefills: prefills, decode: decode)
    }

    /// Passes per second of bare `parallelSgemv` calls over every weight matrix of `model` (fused QKV, o,
    /// gate/up, down per layer, and the output head), best of 5 — what one decode step must stream.
    public static func bareWeightPasses(model: LlamaModel) -> Double {
        let c = model.config
        let x = [Float](repeating: 0.5, count: max(c.hiddenSize, c.intermediateSize, c.queryWidth))
        var y = [Float](repeating: 0, count: max(c.vocabularySize, 2 * c.intermediateSize, c.qkvWidth))
        func pass(_ w: [Float], rows: Int, cols: Int) {
            w.withUnsafeBufferPointer { wp in
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        BLAS.parallelSgemv(trans: false, m: rows, n: cols, alpha: 1, a: wp.baseAddress!, lda: cols,
                                           x: xp.baseAddress!, beta: 0, y: yp.baseAddress!)
                    }
                }
            }
        }
        let all = model.projections
        return 1 / fastest(rounds: 6) {
            for p in all { pass(p.weights.f32, rows: p.rows, cols: p.columns) }
        }
    }

    /// Passes per second of bare `QuantizedMatVec.multiply` calls over every quantized matrix of
    /// `model` (the same products as one quantized decode step, without norms, RoPE or attention),
    /// best of 5.
    public static func bareQuantizedPasses(model: LlamaModel, workers: Int = QuantizedMatVec.defaultWorkers) -> Double {
        let c = model.config
        let x = [Float](repeating: 0.5, count: max(c.hiddenSize, c.intermediateSize, c.queryWidth))
        var y = [Float](repeating: 0, count: max(c.vocabularySize, 2 * c.intermediateSize, c.qkvWidth))
        let all = model.projections.map(\.weights)
        let seconds = x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                fastest(rounds: 6) {
                    for w in all {
                        QuantizedMatVec.multiply(w.quantized, x: xp.baseAddress!, into: yp.baseAddress!,
                                                 accumulate: false, workers: workers)
                    }
                }
            }
        }
        return 1 / seconds
    }

    /// GFLOP/s of bare `parallelSgemm` calls (as the model makes them) of the model's four projection shapes with `rows` rows
    /// (`[rows, hidden]×[hidden, qkv]`, `[rows, H·D]×[H·D, hidden]`, `[rows, hidden]×[hidden, 2F]`,
    /// `[rows, F]×[F, hidden]`), best of 3 rounds.
    public static func bareSGEMM(config c: LlamaConfig, rows: Int) -> Double {
        let shapes = [(c.hiddenSize, c.qkvWidth), (c.queryWidth, c.hiddenSize),
                      (c.hiddenSize, 2 * c.intermediateSize), (c.intermediateSize, c.hiddenSize)]
        let maxIn = shapes.map(\.0).max()!, maxOut = shapes.map(\.1).max()!
        var rng = SplitMix64(seed: 7)
        let a = (0..<(rows * maxIn)).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(maxIn * maxOut)).map { _ in rng.uniform(-1, 1) }
        var out = [Float](repeating: 0, count: rows * maxOut)
        var flops = 0.0
        for (k, n) in shapes { flops += 2 * Double(rows * k * n) }
        let best = a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    fastest(rounds: 4) {
                        for (k, n) in shapes {
                            BLAS.parallelSgemm(transA: false, transB: true, m: rows, n: n, k: k, alpha: 1,
                                               a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: k, beta: 0,
                                               c: op.baseAddress!, ldc: n)
                        }
                    }
                }
            }
        }
        return flops / best / 1e9
    }

    /// Wall seconds of the fastest of `rounds` runs of `body` (the first run also warms caches and
    /// BLAS threads; taking the minimum leaves it out whenever it is slower).
    static func fastest(rounds: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }
}

/// Wraps a hook and accumulates the wall time spent in it.
struct TimedHook<Inner: AttentionHook>: AttentionHook {
    var inner: Inner
    var seconds = 0.0
    mutating func attend(layer: Int, _ qkv: LayerQKV) -> AttentionPartial {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return inner.attend(layer: layer, qkv)
    }
}

/// Process memory from `/proc/self/status` (Linux; 0 elsewhere).
public enum Memory {
    /// Peak resident set size (`VmHWM`), bytes.
    public static func peakResidentBytes() -> Int { statusField("VmHWM:") }
    /// Current resident set size (`VmRSS`), bytes.
    public static func residentBytes() -> Int { statusField("VmRSS:") }

    /// Resets `VmHWM` to the current RSS (writes 5 to `/proc/self/clear_refs`); silently does
    /// nothing where not permitted.
    public static func resetPeak() {
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            try? h.write(contentsOf: Data("5".utf8))
            try? h.close()
        }
    }

    static func statusField(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return 0
    }
}
