/// Phase 2 of Star Attention (query encoding and generation), shared by every method.
///
/// Each participant attends the current segment (the query, then each generated token) to its
/// local KV; the query host also to the appended query/generated KV, which only it stores. With
/// more than one participant the partials are combined per layer by ``Phase2Pattern``.
struct Phase2Engine: Sendable {
    private struct Key: Hashable, Sendable {
        let layer: Int
        let segment: Int
    }

    private enum Stage: Sendable {
        case idle, embedding, inputs, attending, awaitingParts, merging, awaitingMerged, finishing, encoding
        case logits, sampling
    }

    let host: Int
    let participants: [Int]
    let queryHost: Int
    let pattern: Phase2Pattern
    let shape: ModelShape
    let coarse: Bool
    let contextLength: Int
    let queryLength: Int
    private let localKeys: [KVRef]
    private let localRuns: [TokenRun]

    private var prefillDone = false
    private var haveQuery: Bool
    private var active = false
    /// Segments fully processed here; the next one to begin has this index (0 = query).
    private var completedSegments = 0
    private var segment: Segment
    private var segmentIndex = 0
    private var layer = 0
    private var stage = Stage.idle
    private var waiting: OpID?
    private var appended: [TokenRun] = []
    private var partials: [Key: Int] = [:]
    private var merged: Set<Key> = []
    /// Sampled tokens known here: index → stop.
    private var tokens: [Int: Bool] = [:]
    private(set) var finished = false

    init(
        host: Int, participants: [Int], queryHost: Int, pattern: Phase2Pattern, shape: ModelShape, coarse: Bool,
        contextLength: Int, queryLength: Int, localRuns: [TokenRun]
    ) {
        precondition(participants.contains(host) && participants.contains(queryHost))
        self.host = host
        self.participants = participants
        self.queryHost = queryHost
        self.pattern = pattern
        self.shape = shape
        self.coarse = coarse
        self.contextLength = contextLength
        self.queryLength = queryLength
        self.localRuns = localRuns
        self.localKeys = localRuns.stores
        self.haveQuery = host == queryHost
        self.segment = PhaseTwoSegments.query(context: contextLength, query: queryLength)
    }

    private var isQueryHost: Bool { host == queryHost }
    private var others: [Int] { participants.filter { $0 != host } }
    private var parts: Int { participants.count }
    private var tree: Phase2Tree { Phase2Tree(participants: participants, root: queryHost) }
    /// Partials this host merges besides its own at each layer (tree: its children's).
    private var remoteParts: Int { pattern == .tree ? tree.children(of: host).count : parts - 1 }

    /// The query host sends the query tokens to every other participant right at the start.
    func startMessages() -> [Directive] {
        guard isQueryHost else { return [] }
        let m = Message(.queryTokens(segment), shape: shape)
        return others.map { .send(to: $0, m) }
    }

    mutating func prefillFinished(_ ids: inout OpCounter) -> [Directive] {
        precondition(!prefillDone, "Phase2Engine: prefill reported twice")
        prefillDone = true
        return advance(&ids)
    }

    private func index(of s: Segment) -> Int {
        switch s.role {
        case .query: return 0
        case .generated(let n): return n + 1
        default: preconditionFailure("Phase2Engine: \(s) is not a phase-2 segment")
        }
    }

    private mutating func issue(_ op: Op, _ ids: inout OpCounter) -> Directive {
        let id = ids.make()
        waiting = id
        return .compute(id, op)
    }

    /// Begins the next segment when everything it needs is here.
    private mutating func advance(_ ids: inout OpCounter) -> [Directive] {
        guard prefillDone, !active, !finished else { return [] }
        let k = completedSegments
        if k == 0 {
            guard haveQuery else { return [] }
        } else {
            guard let stop = tokens[k - 1] else { return [] }
            if stop {
                finished = true
                return [.finish]
            }
        }
        return begin(k, &ids)
    }

    private var keys: [KVRef] { isQueryHost ? localKeys + [.appended] : localKeys }
    private var visiblePairs: Int {
        VisiblePairs.count(queries: segment.runs, keys: localRuns)
            + (isQueryHost ? VisiblePairs.count(queries: segment.runs, keys: appended) : 0)
    }
    private var keyTokens: Int {
        (localRuns + (isQueryHost ? appended : [])).reduce(0) { $0 + $1.count }
    }

    private mutating func begin(_ k: Int, _ ids: inout OpCounter) -> [Directive] {
        active = true
        segmentIndex = k
        segment = PhaseTwoSegments.segment(k, context: contextLength, query: queryLength)
        layer = 0
        if isQueryHost {
            for run in segment.runs {
                if let last = appended.last, last.tokens.upperBound == run.tokens.lowerBound,
                    last.positions.upperBound == run.firstPosition
                {
                    appended[appended.count - 1] = TokenRun(
                        tokens: last.tokens.lowerBound..<run.tokens.upperBound, firstPosition: last.firstPosition,
                        kv: .appended)
                } else {
                    appended.append(run)
                }
            }
        }
        if coarse && parts == 1 {
            stage = .encoding
            return [
                issue(
                    .encode(
                        segment, keys: keys, dropAnchor: nil, visiblePairsPerLayer: visiblePairs,
                        keyTokensPerLayer: keyTokens), &ids)
            ]
        }
        stage = .embedding
        return [issue(.embed(segment), &ids)]
    }

    private var key: Key { Key(layer: layer, segment: segmentIndex) }

    private mutating func finishLayer(_ ids: inout OpCounter) -> Directive {
        stage = .finishing
        return issue(.finishLayer(layer: layer, segment), &ids)
    }

    private mutating func checkParts(_ ids: inout OpCounter) -> [Directive] {
        guard active, stage == .awaitingParts, partials[key, default: 0] == remoteParts else { return [] }
        partials[key] = nil
        stage = .merging
        return [issue(.merge(layer: layer, segment, parts: remoteParts + 1), &ids)]
    }

    private mutating func checkMerged(_ ids: inout OpCounter) -> [Directive] {
        guard active, stage == .awaitingMerged, merged.contains(key) else { return [] }
        merged.remove(key)
        if pattern == .tree {
            // Down the tree: pass the merged output on to the children before using it.
            let m = Message(.merged(layer: layer, segment), shape: shape)
            return tree.children(of: host).map { .send(to: $0, m) } + [finishLayer(&ids)]
        }
        return [finishLayer(&ids)]
    }

    private mutating func layersDone(_ ids: inout OpCounter) -> [Directive] {
        if isQueryHost {
            stage = .logits
            return [issue(.logits(segment), &ids)]
        }
        active = false
        stage = .idle
        completedSegments += 1
        return [.dropHidden(segment)] + advance(&ids)
    }

    /// Directives following the completion of `id`, or nil when `id` is not this engine's.
    mutating func completed(_ id: OpID, _ ids: inout OpCounter) -> [Directive]? {
        guard let w = waiting, w == id else { return nil }
        waiting = nil
        switch stage {
        case .embedding:
            stage = .inputs
            return [issue(.layerInputs(layer: layer, segment, storesKV: isQueryHost), &ids)]
        case .inputs:
            stage = .attending
            return [
                issue(
                    .attend(
                        layer: layer, queries: segment, keys: keys, visiblePairs: visiblePairs, keyTokens: keyTokens),
                    &ids)
            ]
        case .attending:
            if parts == 1 { return [finishLayer(&ids)] }
            let partial = Message(.partial(layer: layer, segment), shape: shape)
            switch pattern {
            case .gatherBroadcast where !isQueryHost:
                stage = .awaitingMerged
                return [.send(to: queryHost, partial)] + checkMerged(&ids)
            case .gatherBroadcast:
                stage = .awaitingParts
                return checkParts(&ids)
            case .allGather:
                stage = .awaitingParts
                return others.map { .send(to: $0, partial) } + checkParts(&ids)
            case .tree where remoteParts == 0:
                // A leaf: its partial goes up as it is.
                stage = .awaitingMerged
                return [.send(to: tree.parent(of: host)!, partial)] + checkMerged(&ids)
            case .tree:
                stage = .awaitingParts
                return checkParts(&ids)
            }
        case .merging:
            let merged = Message(.merged(layer: layer, segment), shape: shape)
            switch pattern {
            case .gatherBroadcast:
                return others.map { .send(to: $0, merged) } + [finishLayer(&ids)]
            case .tree where isQueryHost:
                // The root: the merged output goes down the tree.
                return tree.children(of: host).map { .send(to: $0, merged) } + [finishLayer(&ids)]
            case .tree:
                // An inner node: its subtree's merged partial (output + lse) goes up.
                stage = .awaitingMerged
                return [.send(to: tree.parent(of: host)!, Message(.partial(layer: layer, segment), shape: shape))]
                    + checkMerged(&ids)
            case .allGather:
                return [finishLayer(&ids)]
            }
        case .finishing:
            if layer + 1 < shape.layers {
                layer += 1
                stage = .inputs
                return [issue(.layerInputs(layer: layer, segment, storesKV: isQueryHost), &ids)]
            }
            return layersDone(&ids)
        case .encoding:
            return layersDone(&ids)
        case .logits:
            stage = .sampling
            return [.dropHidden(segment), issue(.sample, &ids)]
        case .idle, .awaitingParts, .awaitingMerged, .sampling:
            preconditionFailure("Phase2Engine host \(host): completion of \(id) in stage \(stage)")
        }
    }

    mutating func sampled(token: Int32, stop: Bool, _ ids: inout OpCounter) -> [Directive] {
        precondition(
            isQueryHost && active && stage == .sampling,
            "Phase2Engine host \(host): sampled event outside sampling (query host \(queryHost))")
        let index = segmentIndex
        let m = Message(.token(index: index, id: token, stop: stop), shape: shape)
        active = false
        stage = .idle
        completedSegments += 1
        tokens[index] = stop
        return others.map { .send(to: $0, m) } + advance(&ids)
    }

    mutating func received(_ message: Message, from: Int, _ ids: inout OpCounter) -> [Directive] {
        switch message.payload {
        case .queryTokens:
            precondition(!isQueryHost && from == queryHost, "Phase2Engine host \(host): unexpected \(message)")
            haveQuery = true
            return advance(&ids)
        case .partial(let l, let s):
            precondition(
                parts > 1 && (pattern == .allGather || (pattern == .gatherBroadcast && isQueryHost)
                    || (pattern == .tree && tree.parent(of: from) == host)),
                "Phase2Engine host \(host): unexpected \(message) from host \(from)")
            partials[Key(layer: l, segment: index(of: s)), default: 0] += 1
            return checkParts(&ids)
        case .merged(let l, let s):
            precondition(
                (pattern == .gatherBroadcast && !isQueryHost && from == queryHost)
                    || (pattern == .tree && tree.parent(of: host) == from),
                "Phase2Engine host \(host): unexpected \(message) from host \(from)")
            merged.insert(Key(layer: l, segment: index(of: s)))
            return checkMerged(&ids)
        case .token(let i, _, let stop):
            precondition(!isQueryHost && from == queryHost, "Phase2Engine host \(host): unexpected \(message)")
            tokens[i] = stop
            return advance(&ids)
        case .kv, .queries, .headInputs, .headOutput:
            preconditionFailure("Phase2Engine host \(host): prefill message \(message) in phase 2")
        }
    }
}
