import Foundation
import GGUF
import Kernels

/// A Llama-family decoder (SmolLM2-135M and any Llama GGUF) running in f32 on OpenBLAS.
///
/// Port of the reference Llama block (HF `modeling_llama.py` / llama.cpp `llm_build_llama`):
/// `h += o(attn(rope(q(norm(h))), rope(k(norm(h))), v(norm(h))))`,
/// `h += down(silu(gate(norm(h))) ⊙ up(norm(h)))`, logits = `head(norm(h))`.
///
/// Weights are dequantized to f32 once at load and kept in the GGUF's own row-major `[out][in]`
/// layout, so every batched projection is one `sgemm` with `transB` over all tokens of a chunk
/// (`y[n, out] = x[n, in] · Wᵀ`). Single-token steps (decode) instead read the GGUF's quantized
/// blocks (Q4_0/Q4_1/Q8_0) straight from the memory-mapped file with `QuantizedMatVec`, streaming
/// ~6× fewer bytes per token than an f32 `sgemv` (`decodePath`, default `.quantized`; tensors in
/// other formats fall back to f32). Q, K and V are fused into one `[(H+2·KV)·D, hidden]` matrix and
/// gate/up into one `[2·F, hidden]` matrix. Residual additions are folded into the `o` and `down`
/// products (`beta = 1`).
///
/// Attention is never computed here. `forward`/`generate` hand each layer's projected, rotated tokens
/// to an injected `AttentionHook` (e.g. `GlobalAttention`) and continue with its output; the
/// distributed paths (module `ClusterExecution`) drive the layer-stepped API (`embed`,
/// `attentionInputs`, `finishLayer`, `logits`) themselves with their own KV stores. Positions are
/// explicit everywhere, so non-contiguous positions (Star's anchor + context) work unchanged.
///
/// The instance is immutable after `init` and safe to share between threads and hosts.
public final class LlamaModel: Sendable {
    /// Model hyper-parameters.
    public let config: LlamaConfig
    /// File the weights were read from.
    public let path: String
    /// Wall-clock seconds spent reading, validating and dequantizing the weights.
    public let loadSeconds: Double
    /// Default prompt chunk for `forward`/`generate`: tokens per batched step (bounds activations).
    public static let defaultChunkSize = 1024

    /// Which weights single-token steps multiply with.
    public enum DecodePath: String, Sendable, Codable, CaseIterable {
        /// The GGUF's quantized blocks (`QuantizedMatVec`) where the tensor is Q4_0, Q4_1 or Q8_0.
        case quantized
        /// The f32 weights (`sgemv`), as batched steps use.
        case f32
    }

    /// Which weights single-token steps use (batched steps always use the f32 weights).
    public let decodePath: DecodePath
    /// The mapped file the quantized matrices point into; held so the mapping outlives them.
    let file: GGUFFile

    /// `[vocab, hidden]` token embedding (also the output head when tied).
    let embedding: [Float]
    /// `[hidden]` final RMSNorm weight.
    let outputNorm: [Float]
    /// `[vocab, hidden]` output head and its blocks: the embedding (shared storage) when tied,
    /// else `output.weight`.
    let head: LinearWeights
    let layers: [LayerWeights]

    /// The weights of one decoder block, row-major `[out][in]`.
    struct LayerWeights: Sendable {
        /// `[hidden]`
        var attentionNorm: [Float]
        /// `[(H + 2·KV)·D, hidden]`: rows of Wq, then Wk, then Wv.
        var qkv: LinearWeights
        /// `[hidden, H·D]`
        var output: LinearWeights
        /// `[hidden]`
        var ffnNorm: [Float]
        /// `[2·F, hidden]`: rows of Wgate, then Wup.
        var gateUp: LinearWeights
        /// `[hidden, F]`
        var down: LinearWeights
    }

    /// Loads and dequantizes every weight of `gguf`, and keeps `gguf` (its mapping) for the
    /// quantized decode path.
    ///
    /// - Parameter decodePath: weights for single-token steps (`.f32` forces the `sgemv` path).
    /// - Throws: `ModelError` for a non-llama architecture, a missing metadata key or tensor, a tensor
    ///   with the wrong dimensions (message gives name, found and expected dims), or a tensor type
    ///   that cannot be dequantized.
    public init(gguf: GGUFFile, decodePath: DecodePath = .quantized) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let config = try LlamaConfig(gguf: gguf)
        // Weights are dequantized to f32: refuse a file that cannot fit before allocating any of it.
        let needed = Self.f32WeightBytes(gguf), available = Self.memoryBudgetBytes
        guard needed <= available else {
            throw ModelError(.insufficientMemory(path: gguf.path, neededBytes: needed, availableBytes: available))
        }
        self.config = config
        self.decodePath = decodePath
        file = gguf
        path = gguf.path
        let loader = WeightLoader(gguf: gguf)
        let h = config.hiddenSize, f = config.intermediateSize
        let qw = config.queryWidth, kvw = config.kvWidth
        let embeddingWeights = try loader.linear([("token_embd.weight", [h, config.vocabularySize])])
        embedding = embeddingWeights.f32
        head = config.tiedEmbeddings
            ? embeddingWeights : try loader.linear([("output.weight", [h, config.vocabularySize])])
        outputNorm = try loader.load([("output_norm.weight", [h])])
        var layers: [LayerWeights] = []
        layers.reserveCapacity(config.layerCount)
        for l in 0..<config.layerCount {
            let p = "blk.\(l)."
            layers.append(LayerWeights(
                attentionNorm: try loader.load([(p + "attn_norm.weight", [h])]),
                qkv: try loader.linear([
                    (p + "attn_q.weight", [h, qw]), (p + "attn_k.weight", [h, kvw]), (p + "attn_v.weight", [h, kvw]),
                ]),
                output: try loader.linear([(p + "attn_output.weight", [qw, h])]),
                ffnNorm: try loader.load([(p + "ffn_norm.weight", [h])]),
                gateUp: try loader.linear([(p + "ffn_gate.weight", [h, f]), (p + "ffn_up.weight", [h, f])]),
                down: try loader.linear([(p + "ffn_down.weight", [f, h])])))
        }
        self.layers = layers
        loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Memory a model and its runs may use on this machine: 80% of physical memory, bytes.
    public static var memoryBudgetBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory / 5 * 4) }

    /// Bytes of every tensor of `gguf` once dequantized to f32 (what loading allocates).
    public static func f32WeightBytes(_ gguf: GGUFFile) -> Int {
        gguf.tensors.reduce(0) { $0 &+ min($1.elementCount, Int.max / 8) &* 4 }
    }

    /// Opens the GGUF at `path` and loads it (see `init(gguf:decodePath:)`).
    public convenience init(path: String, decodePath: DecodePath = .quantized) throws {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw ModelError(.gguf(path: path, message: "\(error)")) }
        try self.init(gguf: file, decodePath: decodePath)
    }

    /// The same model (sharing every weight buffer, no copy) with another decode path, e.g. to
    /// compare the quantized and f32 decode in one process.
    public func with(decodePath: DecodePath) -> LlamaModel {
        LlamaModel(sharing: self, decodePath: decodePath)
    }

    private init(sharing m: LlamaModel, decodePath: DecodePath) {
        config = m.config
        path = m.path
        loadSeconds = m.loadSeconds
        self.decodePath = decodePath
        file = m.file
        embedding = m.embedding
        outputNorm = m.outputNorm
        head = m.head
        layers = m.layers
    }

    /// Whether single-token steps read quantized blocks for every projection and the head (false
    /// for `.f32`, or when a tensor is in a format without a quantized kernel, e.g. F32/F16 files).
    public var decodesQuantized: Bool {
        decodePath == .quantized && projections.allSatisfy { !$0.weights.quantized.isEmpty }
    }

    /// Every product of one decode step, with its `[rows, columns]` shape: fused QKV, o, gate/up and
    /// down of each layer, then the head.
    public var projections: [(weights: LinearWeights, rows: Int, columns: Int)] {
        let c = config
        return layers.flatMap {
            [($0.qkv, c.qkvWidth, c.hiddenSize), ($0.output, c.hiddenSize, c.queryWidth),
             ($0.gateUp, 2 * c.intermediateSize, c.hiddenSize), ($0.down, c.hiddenSize, c.intermediateSize)]
        } + [(head, c.vocabularySize, c.hiddenSize)]
    }

    /// Bytes of quantized blocks one single-token step reads (all projections and the head;
    /// 0 where a tensor has no quantized form).
    public var quantizedWeightBytes: Int {
        projections.reduce(0) { n, p in p.weights.quantized.reduce(n) { $0 + $1.byteCount } }
    }

    /// Bytes of f32 weights held by this model.
    public var weightBytes: Int {
        var n = embedding.count + (config.tiedEmbeddings ? 0 : head.f32.count) + outputNorm.count
        for w in layers {
            n += w.attentionNorm.count + w.qkv.f32.count + w.output.f32.count + w.ffnNorm.count + w.gateUp.f32.count
                + w.down.f32.count
        }
        return n * MemoryLayout<Float>.stride
    }

    /// The attention geometry of `config` (scale 1/√headDim).
    public static func attentionGeometry(_ config: LlamaConfig) -> AttentionGeometry {
        AttentionGeometry(heads: config.headCount, kvHeads: config.kvHeadCount, headDim: config.headDim)
    }

    /// The attention geometry of this model.
    public var attentionGeometry: AttentionGeometry { Self.attentionGeometry(config) }

    // MARK: - Validation

    /// Checks a batch of tokens and positions before a forward step.
    ///
    /// - Throws: `ModelError` for no tokens, a tokens/positions count mismatch, more tokens than the
    ///   context, a token id outside the vocabulary, or a position that is negative or ≥ context.
    public func validate(tokens: [Int32], positions: [Int32]) throws {
        guard !tokens.isEmpty else { throw ModelError(.emptyPrompt) }
        guard tokens.count <= config.contextLength else {
            throw ModelError(.promptTooLong(tokens: tokens.count, context: config.contextLength))
        }
        guard tokens.count == positions.count else {
            throw ModelError(.positionCountMismatch(tokens: tokens.count, positions: positions.count))
        }
        try validateIDs(tokens)
        for (i, p) in positions.enumerated() {
            if p < 0 { throw ModelError(.negativePosition(index: i, position: p)) }
            if Int(p) >= config.contextLength {
                throw ModelError(.positionBeyondContext(index: i, position: p, context: config.contextLength))
            }
        }
    }

    func validateIDs(_ tokens: [Int32]) throws {
        let v = config.vocabularySize
        for (i, t) in tokens.enumerated() where t < 0 || Int(t) >= v {
            throw ModelError(.tokenOutOfRange(index: i, id: t, vocabulary: v))
        }
    }

    // MARK: - Layer-stepped API

    /// Looks up the embedding rows of `tokens`.
    ///
    /// - Returns: `[n, hidden]`.
    /// - Throws: `ModelError` if an id is outside the vocabulary.
    public func embed(_ tokens: [Int32]) throws -> [Float] {
        try validateIDs(tokens)
        let h = config.hiddenSize
        return [Float](unsafeUninitializedCapacity: tokens.count * h) { out, initialized in
            embedding.withUnsafeBufferPointer { e in
                for (r, t) in tokens.enumerated() {
                    (out.baseAddress! + r * h).initialize(from: e.baseAddress! + Int(t) * h, count: h)
                }
            }
            initialized = tokens.count * h
        }
    }

    /// Projects the new tokens of `layer`: RMSNorm, fused Q/K/V product, RoPE at `positions`.
    ///
    /// - Parameters:
    ///   - hidden: residual stream `[n, hidden]` entering the layer.
    ///   - positions: `[n]` absolute positions.
    /// - Returns: q `[n, H·D]`, k and v `[n, KV·D]` (q and k rotated).
    /// - Complexity: one `[n, hidden] × [hidden, (H+2·KV)·D]` sgemm.
    public func attentionInputs(layer: Int, hidden: [Float], positions: [Int32]) -> LayerQKV {
        attentionInputs(layer: layer, hidden: hidden, rope: ropeTable(positions: positions))
    }

    /// RoPE cos/sin for `positions`, to share between the layers of one step.
    public func ropeTable(positions: [Int32]) -> RoPE.Table {
        RoPE.Table(positions: positions, headDim: config.headDim, base: config.ropeBase)
    }

    /// `attentionInputs(layer:hidden:positions:)` with a precomputed RoPE table
    /// (`rope.positions` are the positions of the `n` rows).
    public func attentionInputs(layer: Int, hidden: [Float], rope: RoPE.Table) -> LayerQKV {
        let positions = rope.positions
        let n = positions.count, h = config.hiddenSize
        precondition(n > 0 && hidden.count == n * h, "attentionInputs: hidden must be [\(n), \(h)], got \(hidden.count) floats")
        let w = layers[layer]
        let qw = config.queryWidth, kvw = config.kvWidth, width = config.qkvWidth
        let fused = [Float](unsafeUninitializedCapacity: n * width) { out, initialized in
            let normed = UnsafeMutablePointer<Float>.allocate(capacity: n * h)
            defer { normed.deallocate() }
            hidden.withUnsafeBufferPointer { x in
                w.attentionNorm.withUnsafeBufferPointer { g in
                    Ops.rmsNorm(x.baseAddress!, rows: n, cols: h, weight: g.baseAddress!,
                                epsilon: Float(config.rmsEpsilon), into: normed)
                }
            }
            Ops.linear(normed, rows: n, inFeatures: h, w.qkv, outFeatures: width, quantized: quantizedSteps,
                       into: out.baseAddress!, accumulate: false)
            initialized = n * width
        }
        var q = Self.columns(fused, rows: n, width: width, from: 0, count: qw)
        var k = Self.columns(fused, rows: n, width: width, from: qw, count: kvw)
        let v = Self.columns(fused, rows: n, width: width, from: qw + kvw, count: kvw)
        q.withUnsafeMutableBufferPointer { rope.apply(to: $0.baseAddress!, heads: config.headCount) }
        k.withUnsafeMutableBufferPointer { rope.apply(to: $0.baseAddress!, heads: config.kvHeadCount) }
        return LayerQKV(q: q, k: k, v: v, positions: positions)
    }

    /// Columns `from..<from+count` of a row-major `[rows, width]` matrix, as `[rows, count]`.
    static func columns(_ m: [Float], rows: Int, width: Int, from: Int, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * count) { out, initialized in
            m.withUnsafeBufferPointer { src in
                for r in 0..<rows {
                    (out.baseAddress! + r * count).initialize(from: src.baseAddress! + r * width + from, count: count)
                }
            }
            initialized = rows * count
        }
    }

    /// Finishes `layer` after attention: output projection + residual, then RMSNorm, SwiGLU MLP
    /// + residual, all in place on `hidden`.
    ///
    /// - Parameters:
    ///   - hidden: residual stream `[n, hidden]`, updated in place.
    ///   - attention: attention output `[n, H·D]` from the hook.
    /// - Complexity: sgemms `[n, H·D]×[H·D, hidden]`, `[n, hidden]×[hidden, 2F]`, `[n, F]×[F, hidden]`.
    public func finishLayer(layer: Int, hidden: inout [Float], attention: [Float]) {
        let h = config.hiddenSize, f = config.intermediateSize, qw = config.queryWidth
        let n = hidden.count / h
        precondition(hidden.count == n * h && attention.count == n * qw,
                     "finishLayer: hidden [\(n), \(h)] needs attention [\(n), \(qw)], got \(attention.count) floats")
        let w = layers[layer]
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: n * h)
        defer { normed.deallocate() }
        let gateUp = UnsafeMutablePointer<Float>.allocate(capacity: n * 2 * f)
        defer { gateUp.deallocate() }
        hidden.withUnsafeMutableBufferPointer { hp in
            let x = hp.baseAddress!
            attention.withUnsafeBufferPointer { a in
                Ops.linear(a.baseAddress!, rows: n, inFeatures: qw, w.output, outFeatures: h, quantized: quantizedSteps,
                           into: x, accumulate: true)
            }
            w.ffnNorm.withUnsafeBufferPointer { g in
                Ops.rmsNorm(x, rows: n, cols: h, weight: g.baseAddress!, epsilon: Float(config.rmsEpsilon), into: normed)
            }
            Ops.linear(normed, rows: n, inFeatures: h, w.gateUp, outFeatures: 2 * f, quantized: quantizedSteps,
                       into: gateUp, accumulate: false)
            // silu(gate) ⊙ up written over the gate half of each row; `down` reads it with lda = 2F.
            for r in 0..<n {
                let row = gateUp + r * 2 * f
                Ops.siluMul(gate: row, up: row + f, into: row, count: f)
            }
            Ops.linear(gateUp, rows: n, inFeatures: f, rowStride: 2 * f, w.down, outFeatures: h,
                       quantized: quantizedSteps, into: x, accumulate: true)
        }
    }

    /// Final RMSNorm and output head for one row of `hidden`.
    ///
    /// - Parameters:
    ///   - hidden: `[n, hidden]` residual stream after the last layer.
    ///   - row: which row (0-based) to score.
    /// - Returns: logits `[vocab]`.
    public func logits(hidden: [Float], row: Int) -> [Float] {
        logits(hidden: hidden, rows: [row])
    }

    /// Final RMSNorm and output head for several rows of `hidden`.
    ///
    /// - Returns: logits `[rows.count, vocab]`, row-major in the order of `rows`.
    /// - Complexity: one `[r, hidden] × [hidden, vocab]` product; never `[n, vocab]` for all rows.
    public func logits(hidden: [Float], rows: [Int]) -> [Float] {
        let h = config.hiddenSize, vocab = config.vocabularySize, r = rows.count
        let n = hidden.count / h
        precondition(hidden.count == n * h && rows.allSatisfy { $0 >= 0 && $0 < n }, "logits: rows \(rows) outside [0, \(n))")
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: max(r, 1) * h)
        defer { gathered.deallocate() }
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: max(r, 1) * h)
        defer { normed.deallocate() }
        hidden.withUnsafeBufferPointer { src in
            for (i, row) in rows.enumerated() {
                (gathered + i * h).update(from: src.baseAddress! + row * h, count: h)
            }
        }
        outputNorm.withUnsafeBufferPointer { g in
            Ops.rmsNorm(gathered, rows: r, cols: h, weight: g.baseAddress!, epsilon: Float(config.rmsEpsilon), into: normed)
        }
        return [Float](unsafeUninitializedCapacity: r * vocab) { out, initialized in
            Ops.linear(normed, rows: r, inFeatures: h, head, outFeatures: vocab, quantized: quantizedSteps,
                       into: out.baseAddress!, accumulate: false)
            initialized = r * vocab
        }
    }

    /// Whether one-row products use the quantized blocks (they do only for one row).
    var quantizedSteps: Bool { decodePath == .quantized }

    /// Runs every layer on `hidden` (`[n, hidden]`, updated in place), attending through `hook`.
    public func runLayers(hidden: inout [Float], positions: [Int32], hook: inout some AttentionHook) {
        let rope = ropeTable(positions: positions)
        for layer in 0..<config.layerCount {
            let qkv = attentionInputs(layer: layer, hidden: hidden, rope: rope)
            let partial = hook.attend(layer: layer, qkv)
            finishLayer(layer: layer, hidden: &hidden, attention: partial.output)
        }
    }

    // MARK: - Composed

    /// Runs `tokens` at `positions` through the model, attending through `hook` (which keeps the KV),
    /// and returns the logits of the last token.
    ///
    /// - Returns: `[vocab]` logits of the last row.
    /// - Throws: `ModelError` (see `validate(tokens:positions:)`).
    public func forward(tokens: [Int32], positions: [Int32], hook: inout some AttentionHook) throws -> [Float] {
        try forward(tokens: tokens, positions: positions, hook: &hook, logitRows: [tokens.count - 1])[0]
    }

    /// Runs `tokens` at `positions` in chunks of `chunkSize` (the hook keeps the KV between chunks,
    /// so the result equals one batch) and returns logits for `logitRows` only.
    ///
    /// - Parameters:
    ///   - logitRows: indices into `tokens` whose logits are wanted.
    ///   - chunkSize: tokens per batched step; bounds activation memory at about
    ///     `chunkSize·(3·hidden + 2·F + qkvWidth)` floats.
    /// - Returns: one `[vocab]` array per entry of `logitRows`, in that order.
    /// - Throws: `ModelError` (see `validate(tokens:positions:)`), or for a row outside the tokens.
    public func forward(
        tokens: [Int32], positions: [Int32], hook: inout some AttentionHook, logitRows: [Int],
        chunkSize: Int = LlamaModel.defaultChunkSize
    ) throws -> [[Float]] {
        try validate(tokens: tokens, positions: positions)
        guard chunkSize > 0 else { throw ModelError(.invalidArgument("chunkSize must be positive, got \(chunkSize)")) }
        for r in logitRows where r < 0 || r >= tokens.count {
            throw ModelError(.invalidArgument("logit row \(r) is outside the \(tokens.count) tokens"))
        }
        var result = [[Float]](repeating: [], count: logitRows.count)
        var start = 0
        while start < tokens.count {
            let end = min(start + chunkSize, tokens.count)
            let chunkPositions = Array(positions[start..<end])
            var hidden = try embed(Array(tokens[start..<end]))
            runLayers(hidden: &hidden, positions: chunkPositions, hook: &hook)
            let wanted = logitRows.enumerated().filter { $0.element >= start && $0.element < end }
            if !wanted.isEmpty {
                let rows = wanted.map { $0.element - start }
                let all = logits(hidden: hidden, rows: rows)
                let vocab = config.vocabularySize
                for (j, w) in wanted.enumerated() {
                    result[w.offset] = Array(all[(j * vocab)..<((j + 1) * vocab)])
                }
            }
            start = end
        }
        return result
    }

    /// Greedy generation: prefills `prompt` at positions `startPosition...`, then repeatedly appends
    /// the arg-max token.
    ///
    /// Stops after `maxTokens` new tokens, when a token in `stopAt` is produced (it is not included in
    /// the result), or when the next position would reach the context length.
    ///
    /// - Parameter progress: called with the number of tokens generated so far after each token.
    /// - Returns: the generated ids (without the prompt and without the stop token).
    /// - Throws: `ModelError` for an invalid prompt (empty, too long, ids out of range).
    public func generate(
        prompt: [Int32], maxTokens: Int, stopAt: Set<Int32>, hook: inout some AttentionHook,
        startPosition: Int32 = 0, chunkSize: Int = LlamaModel.defaultChunkSize,
        progress: ((Int) -> Void)? = nil
    ) throws -> [Int32] {
        guard !prompt.isEmpty else { throw ModelError(.emptyPrompt) }
        guard Int(startPosition) + prompt.count <= config.contextLength else {
            throw ModelError(.promptTooLong(tokens: Int(startPosition) + prompt.count, context: config.contextLength))
        }
        let positions = (0..<Int32(prompt.count)).map { startPosition + $0 }
        var logits = try forward(tokens: prompt, positions: positions, hook: &hook,
                                 logitRows: [prompt.count - 1], chunkSize: chunkSize)[0]
        var generated: [Int32] = []
        var next = startPosition + Int32(prompt.count)
        while generated.count < maxTokens {
            let token = Self.argmax(logits)
            if stopAt.contains(token) { break }
            generated.append(token)
            progress?(generated.count)
            if generated.count == maxTokens || Int(next) >= config.contextLength { break }
            logits = try forward(tokens: [token], positions: [next], hook: &hook)
            next += 1
        }
        return generated
    }

    /// Index of the largest value (first one on ties).
    public static func argmax(_ values: [Float]) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in values.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return Int32(best)
    }
}
