import Kernels

/// The new tokens of one layer after projection and RoPE.
///
/// - q: `[count, heads·headDim]`, rotated by `positions`.
/// - k, v: `[count, kvHeads·headDim]` (k rotated, v not).
/// - positions: `[count]`, the absolute positions used for RoPE and for the causal rule.
public struct LayerQKV: Sendable {
    public var q: [Float]
    public var k: [Float]
    public var v: [Float]
    public let positions: [Int32]
    public var count: Int

    public init(q: [Float], k: [Float], v: [Float], positions: [Int32]) {
        precondition(positions.count > 0 && q.count % positions.count == 0
            && k.count % positions.count == 0 && k.count == v.count, "LayerQKV shape mismatch")
        self.q = q
        self.k = k
        self.v = v
        self.positions = positions
        self.count = positions.count
    }
}

/// The attention interface of `LlamaModel.forward`/`generate` (single-process runs, e.g. exact global
/// attention with `GlobalAttention`).
///
/// `LlamaModel` never attends by itself: after projecting a layer's new tokens, `forward` hands them
/// to the hook and continues with whatever attention output the hook returns. The distributed paths
/// on the cluster do not use it: they drive the layer-stepped API with their own KV stores
/// (`ClusterExecution/HostTensors.swift`).
public protocol AttentionHook {
    /// Attends `qkv.q` (at `qkv.positions`) to whatever KV this hook holds plus the new `qkv.k/v`,
    /// storing the new KV where the conforming type says.
    ///
    /// - Returns: output `[n, heads·headDim]` and lse `[n, heads]` (natural log).
    mutating func attend(layer: Int, _ qkv: LayerQKV) -> AttentionPartial
}

/// Per-layer key/value cache: keys and values `[length, kvHeads·headDim]` plus their positions.
///
/// Positions need not be contiguous (Star Attention keeps an anchor block and a context block),
/// and every layer holds the same token count after a full forward step.
public struct KVCache: Sendable {
    /// Number of layers.
    public let layerCount: Int
    /// Width of one key/value row, `kvHeads·headDim`.
    public let rowWidth: Int
    /// Keys per layer, `[count(layer), rowWidth]` row-major.
    public private(set) var keys: [[Float]]
    /// Values per layer, `[count(layer), rowWidth]` row-major.
    public private(set) var values: [[Float]]
    /// Positions per layer, `[count(layer)]`.
    public private(set) var positions: [[Int32]]

    /// An empty cache; `reservingTokens` preallocates that many rows per layer so a known-length
    /// prefill never reallocates (and never over-allocates by the array growth factor).
    public init(layerCount: Int, rowWidth: Int, reservingTokens: Int = 0) {
        precondition(layerCount > 0 && rowWidth > 0 && reservingTokens >= 0)
        self.layerCount = layerCount
        self.rowWidth = rowWidth
        keys = Array(repeating: [], count: layerCount)
        values = Array(repeating: [], count: layerCount)
        positions = Array(repeating: [], count: layerCount)
        if reservingTokens > 0 { reserve(tokens: reservingTokens) }
    }

    /// An empty cache shaped for `config`.
    public init(config: LlamaConfig, reservingTokens: Int = 0) {
        self.init(layerCount: config.layerCount, rowWidth: config.kvWidth, reservingTokens: reservingTokens)
    }

    /// Ensures room for `tokens` rows per layer in total.
    public mutating func reserve(tokens: Int) {
        for l in 0..<layerCount {
            keys[l].reserveCapacity(tokens * rowWidth)
            values[l].reserveCapacity(tokens * rowWidth)
            positions[l].reserveCapacity(tokens)
        }
    }

    /// Tokens cached for `layer`.
    public func count(layer: Int) -> Int { positions[layer].count }

    /// Tokens cached in layer 0 (all layers agree between forward steps).
    public var count: Int { positions[0].count }

    /// Appends `k`, `v` (`[n, rowWidth]`) at `positions` (`[n]`) to `layer`.
    public mutating func append(layer: Int, k: [Float], v: [Float], positions newPositions: [Int32]) {
        precondition(k.count == newPositions.count * rowWidth && v.count == k.count,
                     "KVCache.append: k/v must be [\(newPositions.count), \(rowWidth)]")
        keys[layer].append(contentsOf: k)
        values[layer].append(contentsOf: v)
        positions[layer].append(contentsOf: newPositions)
    }

    /// Drops the first `n` tokens of every layer (Star Attention discards its anchor block).
    public mutating func removeFirst(_ n: Int) {
        for l in 0..<layerCount {
            precondition(n <= positions[l].count, "KVCache.removeFirst(\(n)) on a layer holding \(positions[l].count)")
            keys[l].removeFirst(n * rowWidth)
            values[l].removeFirst(n * rowWidth)
            positions[l].removeFirst(n)
        }
    }

    /// Drops every cached token (capacity is kept).
    public mutating func removeAll() {
        for l in 0..<layerCount {
            keys[l].removeAll(keepingCapacity: true)
            values[l].removeAll(keepingCapacity: true)
            positions[l].removeAll(keepingCapacity: true)
        }
    }

    /// Bytes held by cached keys, values and positions (not counting spare capacity).
    public var byteCount: Int {
        var total = 0
        for l in 0..<layerCount {
            total += (keys[l].count + values[l].count) * MemoryLayout<Float>.stride
            total += positions[l].count * MemoryLayout<Int32>.stride
        }
        return total
    }
}

/// Exact causal attention over everything seen so far: appends the new KV to `cache`, then runs
/// FlashAttention of the new queries over the whole cache with the position rule
/// (key j visible to query i iff `keyPosition[j] <= queryPosition[i]`).
public struct GlobalAttention: AttentionHook, Sendable {
    public var cache: KVCache
    public let geometry: AttentionGeometry

    /// An empty hook for `config`; `reservingTokens` preallocates the cache (see `KVCache`).
    public init(config: LlamaConfig, reservingTokens: Int = 0) {
        cache = KVCache(config: config, reservingTokens: reservingTokens)
        geometry = LlamaModel.attentionGeometry(config)
    }

    public mutating func attend(layer: Int, _ qkv: LayerQKV) -> AttentionPartial {
        cache.append(layer: layer, k: qkv.k, v: qkv.v, positions: qkv.positions)
        return Ops.attention(
            geometry: geometry, q: qkv.q, queryPositions: qkv.positions,
            keys: cache.keys[layer], values: cache.values[layer], keyPositions: cache.positions[layer])
    }
}
