/// Ulysses on one host (``UlyssesPlan``, `Docs/Ulysses.md`). The host plays two parts:
///
/// - **owner** of its shard (then, on the query host, of the query and each generated token): per
///   layer `layerInputs` (its own head group's K,V go to its store), the Q,K,V of every other head
///   group sent to that group's host, its own group attended here, then — once all `hosts` output
///   slices are here — `finishLayer`;
/// - **server** of head group `host`: every segment's Q,K,V slice that arrives is attended, once the
///   group's store holds every shard's K,V at that layer, to the whole sequence (causal by position),
///   and the output slice goes back to the segment's owner.
///
/// The query host sends each sampled token to every other host (they learn from it when generation
/// stops); a host finishes when its own segments are done and it has served every request it will get.
public struct UlyssesHostProgram: HostProgram {
    private enum Stage: Sendable { case idle, embedding, inputs, joining, finishing, logits, sampling, done }

    /// One segment's head-group slice at one layer, to be attended here for `owner`.
    private struct Request: Sendable {
        let layer: Int
        let segment: Segment
        let owner: Int
    }

    public let plan: UlyssesPlan
    public let host: Int
    public let shape: ModelShape
    private var ids = OpCounter()
    public private(set) var isFinished = false

    // Owner
    private var stage = Stage.idle
    private var segment: Segment
    /// Sampled tokens so far (the current decode segment samples token `sampled`).
    private var sampled = 0
    private var layer = 0
    private var waiting: OpID?
    /// Output slices of the current segment at the current layer that are here (own group included).
    private var slicesIn = 0

    // Server
    /// Layers at which this host's own shard K,V slice is in its store.
    private var ownLayersStored = 0
    /// Layer → other shards' slices received.
    private var shardSlices: [Int: Int] = [:]
    private var requests: [Request] = []
    private var attending: [OpID: Request] = [:]
    /// Requests of other owners served.
    private var served = 0
    /// Index of the token that stopped generation (the query host tells), once known.
    private var stopIndex: Int?

    public init(plan: UlyssesPlan, host: Int, shape: ModelShape) {
        precondition(host >= 0 && host < plan.hosts, "UlyssesHostProgram: host \(host) out of 0..<\(plan.hosts)")
        self.plan = plan
        self.host = host
        self.shape = shape
        segment = plan.shardSegment(host)
    }

    private var isQueryHost: Bool { host == plan.queryHost }
    private var others: [Int] { (0..<plan.hosts).filter { $0 != host } }

    private mutating func issue(_ op: Op) -> Directive {
        let id = ids.make()
        waiting = id
        return .compute(id, op)
    }

    public mutating func handle(_ event: HostEvent) -> [Directive] {
        precondition(!isFinished, "Ulysses host \(host): event \(event) after finish")
        var out: [Directive]
        switch event {
        case .start:
            precondition(stage == .idle, "Ulysses host \(host): started twice")
            stage = .embedding
            out = [issue(.embed(segment))]
        case .computed(let id):
            if let request = attending.removeValue(forKey: id) {
                out = attended(request)
            } else {
                precondition(waiting == id, "Ulysses host \(host): completion of unknown op \(id)")
                waiting = nil
                out = ownStep()
            }
        case .received(let m, let from):
            out = received(m, from: from)
        case .sampled(let token, let stop):
            precondition(stage == .sampling && isQueryHost, "Ulysses host \(host): sampled in stage \(stage)")
            let index = sampled
            sampled += 1
            let message = Message(.token(index: index, id: token, stop: stop), shape: shape)
            out = others.map { .send(to: $0, message) }
            if stop {
                stage = .done
            } else {
                segment = plan.generatedSegment(index)
                stage = .embedding
                out.append(issue(.embed(segment)))
            }
        }
        out += finishIfDone()
        return out
    }

    /// The next step of the owned segment after its last op completed.
    private mutating func ownStep() -> [Directive] {
        switch stage {
        case .embedding:
            stage = .inputs
            return [issue(.layerInputs(layer: layer, segment, storesKV: true))]
        case .inputs:
            if case .shard = segment.role { ownLayersStored = layer + 1 }
            stage = .joining
            var out: [Directive] = others.map {
                .send(to: $0, Message(.headInputs(layer: layer, segment, group: $0, of: plan.hosts), shape: shape))
            }
            requests.append(Request(layer: layer, segment: segment, owner: host))
            out += serve()
            return out
        case .finishing:
            if layer + 1 < shape.layers {
                layer += 1
                stage = .inputs
                return [issue(.layerInputs(layer: layer, segment, storesKV: true))]
            }
            layer = 0
            if case .shard = segment.role {
                let done = segment
                guard isQueryHost else {
                    stage = .done
                    return [.dropHidden(done)]
                }
                segment = plan.querySegment
                stage = .embedding
                return [.dropHidden(done), issue(.embed(segment))]
            }
            stage = .logits
            return [issue(.logits(segment))]
        case .logits:
            stage = .sampling
            return [.dropHidden(segment), issue(.sample)]
        case .idle, .joining, .sampling, .done:
            preconditionFailure("Ulysses host \(host): completion in stage \(stage)")
        }
    }

    /// Whether the store of this host's head group holds every shard's K,V at `layer`.
    private func storeReady(_ layer: Int) -> Bool {
        ownLayersStored > layer && shardSlices[layer, default: 0] == plan.hosts - 1
    }

    /// Attends every waiting request whose layer's store is complete.
    private mutating func serve() -> [Directive] {
        var out: [Directive] = []
        var left: [Request] = []
        for r in requests {
            guard storeReady(r.layer) else {
                left.append(r)
                continue
            }
            // Keys: the context, then the query and generated tokens up to the segment's own.
            let end = max(plan.contextLength, r.segment.runs.last!.tokens.upperBound)
            let keys = [TokenRun(tokens: 0..<end, firstPosition: 0, kv: plan.store(host))]
            let id = ids.make()
            attending[id] = r
            out.append(.compute(id, .attendHeads(
                layer: r.layer, queries: r.segment, group: host, of: plan.hosts, keys: [plan.store(host)],
                visiblePairs: VisiblePairs.count(queries: r.segment.runs, keys: keys), keyTokens: end)))
        }
        requests = left
        return out
    }

    /// After a head-group attend: the slice joins the owner's (here) or goes back to it.
    private mutating func attended(_ r: Request) -> [Directive] {
        if r.owner == host {
            slicesIn += 1
            return join()
        }
        served += 1
        return [.send(to: r.owner, Message(.headOutput(layer: r.layer, r.segment, group: host, of: plan.hosts), shape: shape)),
                .dropQueries(layer: r.layer, r.segment)]
    }

    /// Finishes the layer once every head group's output slice is here.
    private mutating func join() -> [Directive] {
        guard stage == .joining, slicesIn == plan.hosts else { return [] }
        slicesIn = 0
        stage = .finishing
        return [issue(.finishLayer(layer: layer, segment))]
    }

    private mutating func received(_ m: Message, from: Int) -> [Directive] {
        switch m.payload {
        case .headInputs(let l, let s, let g, _):
            precondition(g == host && from != host, "Ulysses host \(host): unexpected \(m) from host \(from)")
            if case .shard = s.role { shardSlices[l, default: 0] += 1 }
            requests.append(Request(layer: l, segment: s, owner: from))
            return serve()
        case .headOutput(let l, let s, _, _):
            precondition(s == segment && l == layer && stage == .joining,
                         "Ulysses host \(host) at layer \(layer): unexpected \(m) from host \(from)")
            slicesIn += 1
            return join()
        case .token(let index, _, let stop):
            precondition(!isQueryHost && from == plan.queryHost, "Ulysses host \(host): unexpected \(m)")
            if stop { stopIndex = index }
            return []
        case .queryTokens, .kv, .partial, .merged, .queries:
            preconditionFailure("Ulysses host \(host): unexpected \(m) from host \(from)")
        }
    }

    /// `.finish` once the host's own segments are done and it has served every request it will get:
    /// every other shard's at every layer, and — off the query host — every decode segment's.
    private mutating func finishIfDone() -> [Directive] {
        guard stage == .done, !isFinished, requests.isEmpty, attending.isEmpty else { return [] }
        var expected = (plan.hosts - 1) * shape.layers
        if !isQueryHost {
            guard let stop = stopIndex else { return [] }
            expected += (stop + 1) * shape.layers
        }
        guard served == expected else { return [] }
        isFinished = true
        return [.finish]
    }
}
