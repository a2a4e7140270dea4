/// Ulysses and USP on one host (``UlyssesPlan``, `Docs/Ulysses.md`, `Docs/USP.md`). The host plays two parts:
///
/// - **owner** of its shard (then, on the query host, of the query and each generated token): per
///   layer `layerInputs` (its own head group's K,V go to its store), the Q,K,V of every other head
///   group sent to that group's host, its own group attended here, then — once all `hosts` output
///   slices are here — `finishLayer`;
/// - **server** of its head group in its ring group: every shard's Q,K,V slice that arrives is
///   attended, once the group's store holds every shard of the ring group at that layer, to that
///   block and to every other ring group's block that comes around the ring (causal by position;
///   blocks in its future skipped; partials merged), and the output slice goes back to the owner.
///   Decode segments are attended to every block at once (the decoding ring group keeps them).
///
/// The query host sends each sampled token to the other hosts of its ring group (they learn from it when generation
/// stops); a host finishes when its own segments are done and it has served every request it will get.
public struct UlyssesHostProgram: HostProgram {
    private enum Stage: Sendable { case idle, embedding, inputs, joining, finishing, logits, sampling, done }

    /// One segment's head-group slice at one layer, to be attended here for `owner`.
    private struct Request: Sendable {
        let layer: Int
        let segment: Segment
        let owner: Int
        /// Ring groups whose block it has attended or skipped (a block in its causal future).
        var done: Set<Int> = []
        /// Partials made so far, and attends still running.
        var parts = 0
        var running = 0
        var merging = false
        var isShard: Bool { if case .shard = segment.role { return true } else { return false } }
    }

    /// A server op in flight: an attend of a request to one ring group's block (nil: to every block,
    /// a decode segment), or its merge.
    private enum Work: Sendable {
        case attend(layer: Int, Segment, block: Int?)
        case merge(layer: Int, Segment)
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
    /// Layers whose own block is complete (and, with a ring, sent on).
    private var ownBlocksReady = 0
    /// Layer → ring groups whose block of this head group is here (own included once complete).
    private var blocksHere: [Int: Set<Int>] = [:]
    /// Layer → received block → shard requests that have not used it yet (then it is dropped).
    private var blockUses: [Int: [Int: Int]] = [:]
    private var requests: [Request] = []
    private var attending: [OpID: Work] = [:]
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
    private var ringGroup: Int { plan.ringGroup(host) }
    private var headGroup: Int { plan.headGroup(host) }
    /// The other hosts of this host's ring group (its all-to-all peers).
    private var peers: [Int] {
        (0..<plan.headDegree).filter { $0 != headGroup }.map { plan.host(ringGroup: ringGroup, headGroup: $0) }
    }
    /// The last ring group decodes and keeps every block it receives.
    private var decodes: Bool { ringGroup == plan.ringDegree - 1 }
    /// The next host of this head group's ring.
    private var next: Int { plan.host(ringGroup: (ringGroup + 1) % plan.ringDegree, headGroup: headGroup) }

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
            if let work = attending.removeValue(forKey: id) {
                out = finished(work)
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
            out = peers.map { .send(to: $0, message) }
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
            var out: [Directive] = peers.map {
                .send(to: $0, Message(.headInputs(layer: layer, segment, group: plan.headGroup($0), of: plan.headDegree), shape: shape))
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

    /// Whether this host's own store holds every shard of its ring group at `layer`.
    private func storeReady(_ layer: Int) -> Bool {
        ownLayersStored > layer && shardSlices[layer, default: 0] == plan.headDegree - 1
    }

    /// Marks own blocks complete, layer by layer (they complete in layer order), and sends each on
    /// around the ring.
    private mutating func ownBlocks() -> [Directive] {
        var out: [Directive] = []
        while ownBlocksReady < shape.layers && storeReady(ownBlocksReady) {
            let l = ownBlocksReady
            blocksHere[l, default: []].insert(ringGroup)
            if plan.ringDegree > 1 { out.append(.send(to: next, blockMessage(layer: l, ringGroup: ringGroup))) }
            ownBlocksReady += 1
        }
        return out
    }

    private func blockMessage(layer: Int, ringGroup r: Int) -> Message {
        Message(.kv(layer: layer, origin: plan.host(ringGroup: r, headGroup: headGroup),
                    blocks: [plan.store(headGroup: headGroup, ringGroup: r)], tokens: plan.blockTokens(r)), shape: shape)
    }

    /// Attends every waiting request to every block it has not seen that is here; completes the
    /// requests that have seen them all.
    private mutating func serve() -> [Directive] {
        var out = ownBlocks()
        var i = 0
        while i < requests.count {
            var r = requests[i]
            let here = blocksHere[r.layer, default: []]
            if !r.isShard {
                // A decode segment: once every block is here, one attend to all of them and to the
                // query's and generated tokens (in the own store), causal by position.
                if r.done.isEmpty && here.count == plan.ringDegree {
                    r.done = here
                    let end = r.segment.runs.last!.tokens.upperBound
                    let keys = [TokenRun(tokens: 0..<end, firstPosition: 0, kv: plan.store(host))]
                    out.append(work(.attend(layer: r.layer, r.segment, block: nil), .attendHeads(
                        layer: r.layer, queries: r.segment, group: headGroup, of: plan.headDegree,
                        keys: (0..<plan.ringDegree).map { plan.store(headGroup: headGroup, ringGroup: $0) },
                        visiblePairs: VisiblePairs.count(queries: r.segment.runs, keys: keys), keyTokens: end)))
                    r.parts += 1
                    r.running += 1
                }
            } else {
                for b in 0..<plan.ringDegree where here.contains(b) && !r.done.contains(b) {
                    r.done.insert(b)
                    let pairs = VisiblePairs.count(queries: r.segment.runs, keys: plan.blockRuns(b))
                    guard pairs > 0 else {
                        out += release(layer: r.layer, block: b)
                        continue
                    }
                    out.append(work(.attend(layer: r.layer, r.segment, block: b), .attendHeads(
                        layer: r.layer, queries: r.segment, group: headGroup, of: plan.headDegree,
                        keys: [plan.store(headGroup: headGroup, ringGroup: b)], visiblePairs: pairs,
                        keyTokens: plan.blockTokens(b))))
                    r.parts += 1
                    r.running += 1
                }
            }
            requests[i] = r
            if let done = complete(at: i) {
                out += done
            } else {
                i += 1
            }
        }
        return out
    }

    private mutating func work(_ w: Work, _ op: Op) -> Directive {
        let id = ids.make()
        attending[id] = w
        return .compute(id, op)
    }

    /// A received block is dropped once every shard request of its layer has used it (a host of the
    /// decoding ring group keeps it).
    private mutating func release(layer: Int, block b: Int) -> [Directive] {
        guard b != ringGroup && !decodes else { return [] }
        let left = blockUses[layer, default: [:]][b, default: plan.headDegree] - 1
        guard left == 0 else {
            blockUses[layer, default: [:]][b] = left
            return []
        }
        blockUses[layer]?[b] = nil
        if blockUses[layer]?.isEmpty ?? false { blockUses[layer] = nil }
        return [.dropKV(layer: layer, plan.store(headGroup: headGroup, ringGroup: b))]
    }

    /// Request `i` once it has seen every block and its attends are done: its partials merged if
    /// there are several, then its slice answered (the request removed; nil while it is not ready).
    private mutating func complete(at i: Int) -> [Directive]? {
        var r = requests[i]
        guard r.done.count == plan.ringDegree, r.running == 0, !r.merging else { return nil }
        if r.parts > 1 {
            r.merging = true
            requests[i] = r
            return [work(.merge(layer: r.layer, r.segment), .mergeHeads(
                layer: r.layer, r.segment, group: headGroup, of: plan.headDegree, parts: r.parts))]
        }
        requests.remove(at: i)
        return answer(r)
    }

    /// The slice of a completed request joins the owner's (here) or goes back to it.
    private mutating func answer(_ r: Request) -> [Directive] {
        if r.owner == host {
            slicesIn += 1
            return join()
        }
        served += 1
        return [.send(to: r.owner, Message(.headOutput(layer: r.layer, r.segment, group: headGroup, of: plan.headDegree), shape: shape)),
                .dropQueries(layer: r.layer, r.segment)]
    }

    /// After a server op: an attend's block may be released and its request completed; a merge
    /// answers its request.
    private mutating func finished(_ w: Work) -> [Directive] {
        switch w {
        case .attend(let l, let s, let block):
            let i = requests.firstIndex { $0.layer == l && $0.segment == s }!
            requests[i].running -= 1
            var out: [Directive] = []
            if let block { out += release(layer: l, block: block) }
            return out + (complete(at: i) ?? [])
        case .merge(let l, let s):
            let i = requests.firstIndex { $0.layer == l && $0.segment == s }!
            return answer(requests.remove(at: i))
        }
    }

    /// Finishes the layer once every head group's output slice is here.
    private mutating func join() -> [Directive] {
        guard stage == .joining, slicesIn == plan.headDegree else { return [] }
        slicesIn = 0
        stage = .finishing
        return [issue(.finishLayer(layer: layer, segment))]
    }

    private mutating func received(_ m: Message, from: Int) -> [Directive] {
        switch m.payload {
        case .headInputs(let l, let s, let g, _):
            precondition(g == headGroup && peers.contains(from), "Ulysses host \(host): unexpected \(m) from host \(from)")
            if case .shard = s.role { shardSlices[l, default: 0] += 1 }
            requests.append(Request(layer: l, segment: s, owner: from))
            return serve()
        case .kv(let l, let origin, _, _):
            let b = plan.ringGroup(origin)
            precondition(plan.ringDegree > 1 && b != ringGroup && plan.headGroup(origin) == headGroup
                         && from == plan.host(ringGroup: (ringGroup - 1 + plan.ringDegree) % plan.ringDegree, headGroup: headGroup),
                         "Ulysses host \(host): unexpected \(m) from host \(from)")
            blocksHere[l, default: []].insert(b)
            var out: [Directive] = []
            if plan.ringGroup(next) != b { out.append(.send(to: next, blockMessage(layer: l, ringGroup: b))) }
            return out + serve()
        case .headOutput(let l, let s, _, _):
            precondition(s == segment && l == layer && stage == .joining,
                         "Ulysses host \(host) at layer \(layer): unexpected \(m) from host \(from)")
            slicesIn += 1
            return join()
        case .token(let index, _, let stop):
            precondition(!isQueryHost && from == plan.queryHost, "Ulysses host \(host): unexpected \(m)")
            if stop { stopIndex = index }
            return []
        case .queryTokens, .partial, .merged, .queries:
            preconditionFailure("Ulysses host \(host): unexpected \(m) from host \(from)")
        }
    }

    /// `.finish` once the host's own segments are done and it has served every request it will get:
    /// its ring group's other shards' at every layer, and — in the decoding ring group, off the query
    /// host — every decode segment's.
    private mutating func finishIfDone() -> [Directive] {
        guard stage == .done, !isFinished, requests.isEmpty, attending.isEmpty else { return [] }
        var expected = (plan.headDegree - 1) * shape.layers
        if decodes && !isQueryHost {
            guard let stop = stopIndex else { return [] }
            expected += (stop + 1) * shape.layers
        }
        guard served == expected else { return [] }
        isFinished = true
        return [.finish]
    }
}
