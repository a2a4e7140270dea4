import Cluster
import DistributedAttention

/// What executing an op means on one host: real math on tensors (`HostTensors`) or nothing at all
/// (`ModeledBackend`, for projections). Time is charged by the shell from the cost model either way.
protocol OpBackend: AnyObject {
    /// What a message carries besides its symbolic description.
    associatedtype Data: Sendable
    /// The real work of `op`, or nil when there is none. Runs on the host, when the step starts.
    func work(for op: Op) -> (() -> Void)?
    /// The token chosen by the last `.sample` (after its work ran).
    var sampledToken: Int32 { get }
    func data(for message: DistributedAttention.Message) -> Data
    func receive(_ message: DistributedAttention.Message, from: Int, data: Data)
    func dropKV(layer: Int, _ ref: KVRef)
    func dropHidden(_ segment: Segment)
    func dropQueries(layer: Int, _ segment: Segment)
}

/// A message on the simulated network: the algorithm's description plus the backend's data.
struct WireMessage<Data: Sendable>: Sendable {
    let message: DistributedAttention.Message
    let data: Data
}

/// The thin shell that runs one pure `HostProgram` on one simulated host: it feeds the program its
/// events and interprets each directive with a `switch` — compute steps are charged their modeled
/// duration (and run for real by the backend), sends become messages on the simulated links, drops
/// free memory. All decisions are the program's; all timing is the scheduler's.
final class AttentionHostShell<Backend: OpBackend>: HostShell {
    typealias Payload = WireMessage<Backend.Data>

    private var program: any HostProgram
    private let backend: Backend
    private let cost: (Op) -> SimDuration
    private let shape: ModelShape
    private let stopTokens: Set<Int32>
    private let maxNewTokens: Int
    private let weightBytes: Int64
    private var pending: [ComputeToken: (OpID, Op, SimDuration)] = [:]
    private let progress: ProgressMeter?
    /// Tokens held per KV store per layer, for memory accounting.
    private var storeTokens: [KVRef: [Int]] = [:]
    private var hiddenTokens: [Segment: Int] = [:]
    private struct Key: Hashable {
        let layer: Int
        let segment: Segment
    }
    /// Bytes of other hosts' Q rows held here (pass-Q ring), until dropped.
    private var visitingQueries: [Key: Int] = [:]
    private(set) var generated: [Int32] = []
    /// Simulated instant each `.sample` step ended, in order (the query host's token times).
    private(set) var sampleEnds: [SimInstant] = []
    private(set) var outOfMemory = false

    /// Cached context runs whose K,V the host holds from the start (the backend has them already).
    private let cachedRuns: [TokenRun]

    init(program: any HostProgram, backend: Backend, shape: ModelShape, weightBytes: Int64,
         stopTokens: Set<Int32>, maxNewTokens: Int, cachedRuns: [TokenRun] = [], progress: ProgressMeter? = nil,
         cost: @escaping (Op) -> SimDuration) {
        self.program = program
        self.cachedRuns = cachedRuns
        self.progress = progress
        self.backend = backend
        self.shape = shape
        self.weightBytes = weightBytes
        self.stopTokens = stopTokens
        self.maxNewTokens = maxNewTokens
        self.cost = cost
    }

    func start(_ host: isolated SimHost<Payload>) {
        if !host.allocate(bytes: weightBytes, label: "weights") { outOfMemory = true }
        for run in cachedRuns {
            for layer in 0..<shape.layers { account(run.kv, layer: layer, tokens: run.count, host) }
        }
        apply(program.handle(.start), host)
    }

    func received(_ message: Cluster.Message<Payload>, _ host: isolated SimHost<Payload>) {
        let m = message.payload.message
        if case .kv(let layer, _, let blocks, let tokens) = m.payload {
            let perBlock = blocks.isEmpty ? 0 : tokens / blocks.count
            for ref in blocks { account(ref, layer: layer, tokens: perBlock, host) }
        }
        if case .queries(let layer, let s) = m.payload {
            visitingQueries[Key(layer: layer, segment: s)] = m.bytes
            if !host.allocate(bytes: Int64(m.bytes), label: "queries \(s) L\(layer)") { outOfMemory = true }
        }
        if case .headInputs(let layer, let s, let g, let n) = m.payload {
            // The K,V slice joins the group's store; the Q slice stays until its output is sent.
            account(s.runs[0].kv.headGroup(g), layer: layer, tokens: s.tokenCount, host)
            let q = s.tokenCount * shape.queryBytesPerTokenPerLayer / n
            visitingQueries[Key(layer: layer, segment: s)] = q
            if !host.allocate(bytes: Int64(q), label: "head queries \(s) L\(layer)") { outOfMemory = true }
        }
        backend.receive(m, from: message.from.rawValue, data: message.payload.data)
        apply(program.handle(.received(m, from: message.from.rawValue)), host)
    }

    func computed(_ token: ComputeToken, _ host: isolated SimHost<Payload>) {
        guard let (id, op, charged) = pending.removeValue(forKey: token) else {
            preconditionFailure("completion of unknown compute step \(token)")
        }
        progress?.finished(op, host: host.id.rawValue, cost: charged)
        if case .sample = op {
            let t = backend.sampledToken
            generated.append(t)
            sampleEnds.append(host.now)
            let stop = stopTokens.contains(t) || generated.count >= maxNewTokens
            apply(program.handle(.sampled(token: t, stop: stop)), host)
        } else {
            apply(program.handle(.computed(id)), host)
        }
    }

    private func apply(_ directives: [Directive], _ host: isolated SimHost<Payload>) {
        for directive in directives {
            switch directive {
            case .compute(let id, let op):
                accountBeforeCompute(op, host)
                let charged = cost(op)
                let token = host.compute(
                    label: op.description, phase: op.phase.tag, cost: charged, work: backend.work(for: op))
                pending[token] = (id, op, charged)
            case .send(let to, let message):
                host.send(
                    to: HostID(to), bytes: message.bytes,
                    payload: WireMessage(message: message, data: backend.data(for: message)),
                    label: message.description, phase: message.phase.tag)
            case .dropKV(let layer, let ref):
                let tokens = storeTokens[ref]?[layer] ?? 0
                if tokens > 0 {
                    host.free(bytes: Int64(tokens * kvBytesPerToken(ref)), label: "drop \(ref) L\(layer)")
                    storeTokens[ref]![layer] = 0
                }
                backend.dropKV(layer: layer, ref)
            case .dropHidden(let segment):
                if let n = hiddenTokens.removeValue(forKey: segment) {
                    host.free(bytes: Int64(n * shape.hidden * shape.bytesPerElement), label: "drop hidden \(segment)")
                }
                backend.dropHidden(segment)
            case .dropQueries(let layer, let segment):
                if let bytes = visitingQueries.removeValue(forKey: Key(layer: layer, segment: segment)) {
                    host.free(bytes: Int64(bytes), label: "drop queries \(segment) L\(layer)")
                }
                backend.dropQueries(layer: layer, segment)
            case .finish:
                host.finish()
            }
        }
    }

    /// Memory an op creates, allocated when the op is issued.
    private func accountBeforeCompute(_ op: Op, _ host: isolated SimHost<Payload>) {
        switch op {
        case .embed(let s), .encode(let s, _, _, _, _):
            if hiddenTokens[s] == nil {
                hiddenTokens[s] = s.tokenCount
                if !host.allocate(bytes: Int64(s.tokenCount * shape.hidden * shape.bytesPerElement), label: "hidden \(s)") {
                    outOfMemory = true
                }
            }
            if case .encode(_, _, let drop, _, _) = op {
                for layer in 0..<shape.layers {
                    for run in s.runs where run.kv != drop { account(run.kv, layer: layer, tokens: run.count, host) }
                }
            }
        case .layerInputs(let layer, let s, let storesKV) where storesKV:
            for run in s.runs { account(run.kv, layer: layer, tokens: run.count, host) }
        case .compress(let layer, _, let into, let keep, _, _, _):
            account(into, layer: layer, tokens: keep, host)
        default:
            break
        }
    }

    /// Bytes per token per layer of store `ref`: one head group's share for Ulysses' stores.
    private func kvBytesPerToken(_ ref: KVRef) -> Int { shape.kvBytesPerTokenPerLayer(in: ref) }

    private func account(_ ref: KVRef, layer: Int, tokens: Int, _ host: isolated SimHost<Payload>) {
        var perLayer = storeTokens[ref] ?? Array(repeating: 0, count: shape.layers)
        perLayer[layer] += tokens
        storeTokens[ref] = perLayer
        if !host.allocate(bytes: Int64(tokens * kvBytesPerToken(ref)), label: "kv \(ref) L\(layer)") {
            outOfMemory = true
        }
    }
}
