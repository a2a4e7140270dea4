import DistributedAttention
import TestSupport


/// A key/value row the symbolic shell tracks instead of tensors: which token, at which position.
struct Row: Hashable {
    let token: Int
    let position: Int32
}

/// A symbolic partial: for each query row, the set of token indices it attended to.
struct SymbolicPartial {
    let origin: Int
    var seen: [Set<Int>]
}

struct LayerSegment: Hashable {
    let layer: Int
    let segment: Segment
}

struct LayerStore: Hashable {
    let layer: Int
    let ref: KVRef
}

/// A fake shell that runs every host program of a method together, executing each op
/// *symbolically*: hidden states are layer counters, KV stores are lists of (token, position) rows,
/// partials are the sets of tokens each query row saw. It checks every op's inputs exist, that
/// `visiblePairs`/`keyTokens` match what the stores hold, that merges are disjoint, and records
/// what each finished layer attended to.
///
/// Scheduling: each host runs its compute ops one at a time in issue order (a device queue);
/// messages are delivered FIFO before pending completions, or — with a seed — every eligible event
/// (queue heads and messages in flight) is picked in a seeded random order.
struct SymbolicShell {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private enum Pending {
        case complete(host: Int, OpID, Op)
        case deliver(to: Int, from: Int, Message, payload: Payload)
    }

    enum Payload {
        case none
        case kv([KVRef: [Row]])
        case partial(SymbolicPartial)
        case queries
        case headInputs([Row])
        case headOutput([Set<Int>])
    }

    struct HostState {
        var hidden: [Segment: Int] = [:]
        var queries: Set<LayerSegment> = []
        var kv: [LayerStore: [Row]] = [:]
        var partials: [LayerSegment: [SymbolicPartial]] = [:]
        /// Ulysses: per segment and layer, what each head group's attends saw (their union).
        var heads: [LayerSegment: [Int: [Set<Int>]]] = [:]
        /// USP: per segment and layer, this host's head group's partials not yet merged.
        var headParts: [LayerSegment: Int] = [:]
        /// Ulysses: how many head groups each finished layer joined.
        var headGroupsJoined: [LayerSegment: Int] = [:]
        var computeQueue: [(OpID, Op)] = []
        var issued: Set<OpID> = []
        var finished = false
        var log: [Directive] = []
    }

    let shape: ModelShape
    var programs: [any HostProgram]
    var hosts: [HostState]
    /// Stop after this many sampled tokens (the last sample says stop).
    let sampledTokens: Int
    var sampled: [Int32] = []
    var traffic: TrafficTable
    /// What every `finishLayer` consumed: host → (layer, segment) → per row, the tokens it saw.
    var attention: [Int: [LayerSegment: [Set<Int>]]] = [:]
    private var inFlight: [Pending] = []
    private var rng: SplitMix64?
    var events = 0

    /// `cached(h)`: runs whose K,V host `h` holds at the start, every layer (a ring's cached prefix).
    init(programs: [any HostProgram], shape: ModelShape, sampledTokens: Int, shuffleSeed: UInt64? = nil,
         cached: (Int) -> [TokenRun] = { _ in [] }) {
        self.programs = programs
        self.shape = shape
        self.sampledTokens = sampledTokens
        hosts = Array(repeating: HostState(), count: programs.count)
        for h in hosts.indices {
            for run in cached(h) {
                for l in 0..<shape.layers {
                    hosts[h].kv[LayerStore(layer: l, ref: run.kv), default: []] += zip(run.tokens, run.positions).map {
                        Row(token: $0, position: $1)
                    }
                }
            }
        }
        traffic = TrafficTable(hosts: programs.count)
        rng = shuffleSeed.map { SplitMix64(seed: $0) }
    }

    func fail(_ s: String) -> Failure { Failure(description: s) }

    /// Runs until nothing is left to do. Throws on any violated invariant or a host left unfinished.
    mutating func run(maxEvents: Int = 2_000_000) throws {
        for h in programs.indices { try deliver(.start, to: h) }
        while !inFlight.isEmpty || hosts.contains(where: { !$0.computeQueue.isEmpty }) {
            events += 1
            if events > maxEvents { throw fail("no termination after \(maxEvents) events") }
            var eligible: [Pending] = []
            for h in hosts.indices {
                if let (id, op) = hosts[h].computeQueue.first { eligible.append(.complete(host: h, id, op)) }
            }
            let firstMessage = eligible.count
            eligible += inFlight
            let pick: Int
            if var g = rng {
                pick = Int.random(in: 0..<eligible.count, using: &g)
                rng = g
            } else {
                pick = inFlight.isEmpty ? 0 : firstMessage
            }
            switch eligible[pick] {
            case .complete(let h, let id, let op):
                hosts[h].computeQueue.removeFirst()
                try execute(op, on: h)
                if case .sample = op {
                    let token = Int32(1000 + sampled.count)
                    sampled.append(token)
                    try deliver(.sampled(token: token, stop: sampled.count == sampledTokens), to: h)
                } else {
                    try deliver(.computed(id), to: h)
                }
            case .deliver(let to, let from, let message, let payload):
                inFlight.remove(at: pick - firstMessage)
                try receive(message, payload: payload, on: to)
                try deliver(.received(message, from: from), to: to)
            }
        }
        for h in hosts.indices where !hosts[h].finished { throw fail("host \(h) never finished") }
    }

    private mutating func deliver(_ event: HostEvent, to h: Int) throws {
        if hosts[h].finished { throw fail("host \(h): event \(event) after finish") }
        let directives = programs[h].handle(event)
        for d in directives { try apply(d, on: h) }
    }

    private mutating func apply(_ d: Directive, on h: Int) throws {
        hosts[h].log.append(d)
        switch d {
        case .compute(let id, let op):
            if hosts[h].issued.contains(id) { throw fail("host \(h): op id \(id) reused") }
            hosts[h].issued.insert(id)
            hosts[h].computeQueue.append((id, op))
        case .send(let to, let m):
            if to == h || to < 0 || to >= hosts.count { throw fail("host \(h): bad destination \(to)") }
            traffic[h, m.phase] += m.bytes
            let payload: Payload
            switch m.payload {
            case .kv(let l, _, let blocks, let tokens):
                var rows: [KVRef: [Row]] = [:]
                for b in blocks {
                    guard let r = hosts[h].kv[LayerStore(layer: l, ref: b)] else {
                        throw fail("host \(h): sends \(b) at layer \(l) it does not hold")
                    }
                    rows[b] = r
                }
                if rows.values.reduce(0, { $0 + $1.count }) != tokens { throw fail("host \(h): kv token count \(m)") }
                payload = .kv(rows)
            case .partial(let l, let s), .merged(let l, let s):
                let parts = hosts[h].partials[LayerSegment(layer: l, segment: s)] ?? []
                let own: [SymbolicPartial]
                if case .partial = m.payload {
                    own = parts.filter { $0.origin == h }
                } else {
                    own = parts
                }
                guard own.count == 1 else {
                    throw fail("host \(h): sends \(m) holding \(own.count) matching partials")
                }
                payload = .partial(SymbolicPartial(origin: h, seen: own[0].seen))
            case .queries(let l, let seg):
                guard hosts[h].queries.contains(LayerSegment(layer: l, segment: seg)) else {
                    throw fail("host \(h): sends Q of \(seg) at layer \(l) it does not hold")
                }
                payload = .queries
            case .headInputs(let l, let seg, _, _):
                guard hosts[h].queries.contains(LayerSegment(layer: l, segment: seg)) else {
                    throw fail("host \(h): sends head inputs of \(seg) at layer \(l) without its Q")
                }
                payload = .headInputs(rows(seg))
            case .headOutput(let l, let seg, let g, _):
                guard let seen = hosts[h].heads[LayerSegment(layer: l, segment: seg)]?[g],
                      hosts[h].headParts[LayerSegment(layer: l, segment: seg)] == 1 else {
                    throw fail("host \(h): sends head output \(g) of \(seg) at layer \(l) it has not computed (or merged)")
                }
                payload = .headOutput(seen)
            case .queryTokens, .token:
                payload = .none
            }
            inFlight.append(.deliver(to: to, from: h, m, payload: payload))
        case .dropKV(let l, let ref):
            if hosts[h].kv.removeValue(forKey: LayerStore(layer: l, ref: ref)) == nil {
                throw fail("host \(h): drops absent \(ref) at layer \(l)")
            }
        case .dropHidden(let s):
            if hosts[h].hidden.removeValue(forKey: s) == nil { throw fail("host \(h): drops absent hidden \(s)") }
        case .dropQueries(let l, let s):
            let key = LayerSegment(layer: l, segment: s)
            if hosts[h].queries.remove(key) == nil { throw fail("host \(h): drops absent Q of \(s) at layer \(l)") }
            hosts[h].partials[key] = nil
            hosts[h].heads[key] = nil
            hosts[h].headParts[key] = nil
        case .finish:
            hosts[h].finished = true
        }
    }

    private mutating func receive(_ m: Message, payload: Payload, on h: Int) throws {
        switch (m.payload, payload) {
        case (.kv(let l, _, _, _), .kv(let rows)):
            for (ref, r) in rows {
                let key = LayerStore(layer: l, ref: ref)
                if hosts[h].kv[key] != nil { throw fail("host \(h): receives \(ref) at layer \(l) twice") }
                hosts[h].kv[key] = r
            }
        case (.partial(let l, let s), .partial(let p)):
            hosts[h].partials[LayerSegment(layer: l, segment: s), default: []].append(p)
        case (.merged(let l, let s), .partial(let p)):
            hosts[h].partials[LayerSegment(layer: l, segment: s)] = [p]
        case (.headInputs(let l, let s, let g, let n), .headInputs(let r)):
            guard case .heads(_, n, _) = s.runs[0].kv else { throw fail("host \(h): head inputs of \(s) for a store of another split") }
            hosts[h].kv[LayerStore(layer: l, ref: s.runs[0].kv.headGroup(g)), default: []] += r
            if !hosts[h].queries.insert(LayerSegment(layer: l, segment: s)).inserted {
                throw fail("host \(h): receives head inputs of \(s) at layer \(l) twice")
            }
        case (.headOutput(let l, let s, let g, _), .headOutput(let seen)):
            hosts[h].heads[LayerSegment(layer: l, segment: s), default: [:]][g] = seen
        case (.queries(let l, let s), .queries):
            if !hosts[h].queries.insert(LayerSegment(layer: l, segment: s)).inserted {
                throw fail("host \(h): receives Q of \(s) at layer \(l) twice")
            }
        default:
            break
        }
    }

    private func rows(_ s: Segment) -> [Row] {
        s.runs.flatMap { run in zip(run.tokens, run.positions).map { Row(token: $0, position: $1) } }
    }

    /// Per query row of `s`, the tokens of `keyRows` it sees (key position ≤ query position); checks the
    /// op's `visiblePairs` and `keyTokens` against them.
    private func see(_ s: Segment, _ keyRows: [Row], pairs: Int, keyTokens: Int, _ op: Op, on h: Int) throws -> [Set<Int>] {
        if keyRows.count != keyTokens { throw fail("host \(h): keyTokens \(keyTokens) != \(keyRows.count) for \(op)") }
        var counted = 0
        var seen: [Set<Int>] = []
        for q in rows(s) {
            let visible = keyRows.filter { $0.position <= q.position }
            counted += visible.count
            seen.append(Set(visible.map(\.token)))
        }
        if counted != pairs { throw fail("host \(h): visiblePairs \(pairs) != \(counted) for \(op)") }
        return seen
    }

    private mutating func execute(_ op: Op, on h: Int) throws {
        switch op {
        case .embed(let s):
            if hosts[h].hidden[s] != nil { throw fail("host \(h): embeds \(s) twice") }
            hosts[h].hidden[s] = 0
        case .layerInputs(let l, let s, let stores):
            guard hosts[h].hidden[s] == l else {
                throw fail("host \(h): layerInputs L\(l) of \(s) at hidden layer \(String(describing: hosts[h].hidden[s]))")
            }
            hosts[h].queries.insert(LayerSegment(layer: l, segment: s))
            if stores {
                for run in s.runs {
                    hosts[h].kv[LayerStore(layer: l, ref: run.kv), default: []] += zip(run.tokens, run.positions).map {
                        Row(token: $0, position: $1)
                    }
                }
            }
        case .attend(let l, let s, let keys, let pairs, let keyTokens):
            guard hosts[h].queries.contains(LayerSegment(layer: l, segment: s)) else {
                throw fail("host \(h): attends \(s) at L\(l) without its Q")
            }
            var keyRows: [Row] = []
            for k in keys {
                guard let r = hosts[h].kv[LayerStore(layer: l, ref: k)] else {
                    throw fail("host \(h): attends to absent \(k) at L\(l)")
                }
                keyRows += r
            }
            let seen = try see(s, keyRows, pairs: pairs, keyTokens: keyTokens, op, on: h)
            hosts[h].partials[LayerSegment(layer: l, segment: s), default: []].append(
                SymbolicPartial(origin: h, seen: seen))
        case .compress(let l, let s, let into, let keep, let candidates, _, _):
            // Symbolically: the most recent `keep` candidates of the block (the real selection is data-dependent).
            guard let block = s.runs.last, let rows = hosts[h].kv[LayerStore(layer: l, ref: block.kv)] else {
                throw fail("host \(h): compresses \(s) at L\(l) without its block's K,V")
            }
            let picked = rows.filter { candidates.contains($0.token) }.suffix(keep)
            if picked.count != keep { throw fail("host \(h): compress of \(s) keeps \(picked.count) of \(keep)") }
            hosts[h].kv[LayerStore(layer: l, ref: into)] = Array(picked)
        case .attendHeads(let l, let s, let g, _, let keys, let pairs, let keyTokens):
            guard hosts[h].queries.contains(LayerSegment(layer: l, segment: s)) else {
                throw fail("host \(h): attends heads of \(s) at L\(l) without its Q")
            }
            var keyRows: [Row] = []
            for k in keys {
                guard let r = hosts[h].kv[LayerStore(layer: l, ref: k)] else {
                    throw fail("host \(h): attends heads to absent \(k) at L\(l)")
                }
                keyRows += r
            }
            let seen = try see(s, keyRows, pairs: pairs, keyTokens: keyTokens, op, on: h)
            let key = LayerSegment(layer: l, segment: s)
            if let earlier = hosts[h].heads[key]?[g] {
                // USP: another ring block's partial of the same group; blocks must not overlap.
                for i in seen.indices where !earlier[i].isDisjoint(with: seen[i]) {
                    throw fail("host \(h): head group \(g) of \(s) at L\(l) attends a key twice")
                }
                hosts[h].heads[key]?[g] = zip(earlier, seen).map { $0.union($1) }
            } else {
                hosts[h].heads[key, default: [:]][g] = seen
            }
            hosts[h].headParts[key, default: 0] += 1
        case .mergeHeads(let l, let s, let g, _, let parts):
            let key = LayerSegment(layer: l, segment: s)
            guard hosts[h].heads[key]?[g] != nil, hosts[h].headParts[key] == parts, parts > 1 else {
                throw fail("host \(h): mergeHeads of \(parts) parts holding \(hosts[h].headParts[key] ?? 0) for \(s) L\(l)")
            }
            hosts[h].headParts[key] = 1
        case .merge(let l, let s, let parts):
            let key = LayerSegment(layer: l, segment: s)
            let list = hosts[h].partials[key] ?? []
            if list.count != parts { throw fail("host \(h): merge of \(parts) parts holding \(list.count) for \(s) L\(l)") }
            var seen = Array(repeating: Set<Int>(), count: s.tokenCount)
            for p in list {
                for i in seen.indices {
                    if !seen[i].isDisjoint(with: p.seen[i]) { throw fail("host \(h): merge double-counts keys for \(s) L\(l)") }
                    seen[i].formUnion(p.seen[i])
                }
            }
            hosts[h].partials[key] = [SymbolicPartial(origin: h, seen: seen)]
        case .finishLayer(let l, let s):
            let key = LayerSegment(layer: l, segment: s)
            guard hosts[h].hidden[s] == l else { throw fail("host \(h): finishLayer L\(l) of \(s) at wrong layer") }
            if let groups = hosts[h].heads.removeValue(forKey: key) {
                if let parts = hosts[h].headParts.removeValue(forKey: key), parts != 1 {
                    throw fail("host \(h): finishLayer L\(l) of \(s) with \(parts) unmerged head partials")
                }
                // Ulysses: every head group's slice, and each saw the same tokens.
                guard let first = groups.values.first, groups.values.allSatisfy({ $0 == first }),
                      hosts[h].partials[key] == nil else {
                    throw fail("host \(h): finishLayer L\(l) of \(s) with head groups that saw different tokens")
                }
                hosts[h].partials[key] = [SymbolicPartial(origin: h, seen: first)]
                hosts[h].headGroupsJoined[key] = groups.count
            }
            guard let list = hosts[h].partials.removeValue(forKey: key), list.count == 1 else {
                throw fail("host \(h): finishLayer L\(l) of \(s) without exactly one attention result")
            }
            guard hosts[h].queries.remove(key) != nil else { throw fail("host \(h): finishLayer without Q") }
            attention[h, default: [:]][key] = list[0].seen
            hosts[h].hidden[s] = l + 1
        case .encode(let s, let keys, let drop, let pairs, let keyTokens):
            try execute(.embed(s), on: h)
            for l in 0..<shape.layers {
                try execute(.layerInputs(layer: l, s, storesKV: true), on: h)
                try execute(.attend(layer: l, queries: s, keys: keys, visiblePairs: pairs, keyTokens: keyTokens), on: h)
                if let d = drop {
                    if hosts[h].kv.removeValue(forKey: LayerStore(layer: l, ref: d)) == nil {
                        throw fail("host \(h): encode drops absent \(d)")
                    }
                }
                try execute(.finishLayer(layer: l, s), on: h)
            }
        case .logits(let s):
            guard hosts[h].hidden[s] == shape.layers else { throw fail("host \(h): logits of unfinished \(s)") }
        case .sample:
            break
        }
    }

    /// Compute ops issued by `host`, in order.
    func ops(_ host: Int) -> [Op] {
        hosts[host].log.compactMap { if case .compute(_, let op) = $0 { return op } else { return nil } }
    }

    /// Every directive of `host` with op ids removed (for comparing op sequences).
    func logShape(_ host: Int) -> [String] {
        hosts[host].log.map { d in
            if case .compute(_, let op) = d { return op.description }
            return d.description
        }
    }

    /// KV stores `host` still holds at the end, at layer `layer`.
    func heldStores(_ host: Int, layer: Int = 0) -> Set<KVRef> {
        Set(hosts[host].kv.keys.filter { $0.layer == layer }.map(\.ref))
    }

    /// True when no host holds hidden states, queries or partials any more.
    var nothingLeaked: Bool {
        hosts.allSatisfy { $0.hidden.isEmpty && $0.queries.isEmpty && $0.partials.isEmpty && $0.heads.isEmpty && $0.headParts.isEmpty }
    }
}

let tinyShape = ModelShape(layers: 2, hidden: 8, heads: 2, kvHeads: 1, headDim: 4, ffn: 16, vocab: 32, bytesPerElement: 4)
