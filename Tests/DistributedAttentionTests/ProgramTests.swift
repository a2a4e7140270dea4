import DistributedAttention
import Testing

/// Delivery orders every program is run under: FIFO, and two seeded random interleavings.
let schedules: [UInt64?] = [nil, 1, 2]

/// Rows of an exact method see every token up to and including themselves.
func expectExact(_ seen: [Set<Int>], _ segment: Segment, _ what: String) -> Bool {
    for (row, t) in segment.tokenIndices.enumerated() where seen[row] != Set(0...t) {
        Issue.record("\(what): row token \(t) saw \(seen[row].sorted()), expected 0...\(t)")
        return false
    }
    return true
}

/// Runs phase-2 segments' expectations and counts, shared by Star and Ring.
func expectPhaseTwo(
    _ shell: SymbolicShell, host: Int, layers: Int, sampledTokens n: Int, query: Segment,
    generated: (Int) -> Segment, what: String
) {
    let seen = shell.attention[host] ?? [:]
    for l in 0..<layers {
        for s in [query] + (0..<(n - 1)).map(generated) {
            guard let rows = seen[LayerSegment(layer: l, segment: s)] else {
                Issue.record("\(what): host \(host) never finished \(s) at L\(l)")
                continue
            }
            _ = expectExact(rows, s, "\(what) host \(host) L\(l) \(s)")
        }
    }
}

@Suite("Host programs")
struct ProgramTests {
    static let starConfigs: [(l: Int, b: Int, a: Int, h: Int)] = [
        (16, 16, 16, 1), (20, 6, 6, 2), (32, 8, 8, 4), (32, 8, 3, 4), (33, 4, 2, 8), (64, 8, 8, 8), (30, 7, 0, 3),
    ]

    @Test("Star terminates and every op sees exactly what the method says", arguments: 0..<7)
    func star(configIndex: Int) throws {
        let c = Self.starConfigs[configIndex]
        let q = 3
        for source in [StarPlan.AnchorSource.firstBlock, .previousBlock] {
            for pattern in Phase2Pattern.allCases {
                for granularity in [Granularity.perLayer, .coarse] {
                    for n in [1, 3] {
                        for seed in schedules {
                            let plan = try StarPlan(
                                contextLength: c.l, queryLength: q, blockSize: c.b, anchorSize: c.a,
                                anchorSource: source, hosts: c.h, phase2: pattern)
                            let what = "star L\(c.l) b\(c.b) a\(c.a) H\(c.h) \(source) \(pattern) \(granularity) n\(n) seed \(String(describing: seed))"
                            var shell = SymbolicShell(
                                programs: plan.programs(shape: tinyShape, granularity: granularity), shape: tinyShape,
                                sampledTokens: n, shuffleSeed: seed)
                            do { try shell.run() } catch {
                                Issue.record("\(what): \(error)")
                                continue
                            }
                            #expect(shell.sampled.count == n, "\(what)")
                            #expect(shell.programs.allSatisfy { $0.isFinished }, "\(what)")
                            #expect(shell.nothingLeaked, "\(what)")
                            #expect(shell.traffic == plan.analyticTraffic(shape: tinyShape, sampledTokens: n), "\(what)")
                            for h in 0..<c.h {
                                // Phase 1: each row sees its anchor and the block's tokens up to its position.
                                for i in plan.blocks(onHost: h) {
                                    let seg = plan.encodingSegment(i)
                                    let rows = zip(seg.tokenIndices, seg.positions)
                                    for l in 0..<tinyShape.layers {
                                        guard let seen = shell.attention[h]?[LayerSegment(layer: l, segment: seg)] else {
                                            Issue.record("\(what): host \(h) never finished \(seg) L\(l)")
                                            continue
                                        }
                                        for (row, (_, p)) in rows.enumerated() {
                                            let expected = Set(rows.filter { $0.1 <= p }.map(\.0))
                                            #expect(seen[row] == expected, "\(what) host \(h) block \(i) row \(row)")
                                        }
                                    }
                                }
                                // Phase 2 is exact: every query/generated row sees all tokens before it.
                                expectPhaseTwo(
                                    shell, host: h, layers: tinyShape.layers, sampledTokens: n, query: plan.querySegment,
                                    generated: plan.generatedSegment, what: what)
                                // What is left: the host's block KV (anchors dropped), plus appended on the query host.
                                var held = Set(plan.blocks(onHost: h).map { KVRef.block($0) })
                                if h == plan.queryHost { held.insert(.appended) }
                                for l in [0, tinyShape.layers - 1] {
                                    #expect(shell.heldStores(h, layer: l) == held, "\(what) host \(h)")
                                }
                            }
                            let appended = shell.hosts[plan.queryHost].kv[LayerStore(layer: 1, ref: .appended)]
                            #expect(appended?.count == q + n - 1, "\(what)")
                        }
                    }
                }
            }
        }
    }

    @Test("Ring terminates, is exact, forwards every block once", arguments: [1, 2, 3, 4, 8])
    func ring(hosts: Int) throws {
        let q = 2
        for partition in [RingPlan.Partition.contiguous, .zigzag, .striped] {
            for length in [2 * hosts * 3, 2 * hosts * 3 + 5] {
                for decode in [RingPlan.Decode.phase2, .lastHost] {
                    for pattern in Phase2Pattern.allCases {
                        for granularity in [Granularity.perLayer, .coarse] {
                            for n in [1, 3] {
                                for (seed, exchange) in schedules.flatMap({ s in RingPlan.Exchange.allCases.map { (s, $0) } }) {
                                    // Pass-Q never moves K,V to the last host (the plan refuses it; PassQRingTests).
                                    if exchange == .passQ && decode == .lastHost && hosts > 1 { continue }
                                    // A cached prefix (persistent-KV prefill) on every other schedule.
                                    let cached = n == 3 && seed != nil ? length / 3 : 0
                                    let plan = try RingPlan(
                                        contextLength: length + cached, queryLength: q, hosts: hosts, partition: partition,
                                        decode: decode, phase2: pattern, exchange: exchange, cachedLength: cached)
                                    let what = "ring L\(length) cached \(cached) H\(hosts) \(partition) \(decode) \(pattern) \(exchange) \(granularity) n\(n) seed \(String(describing: seed))"
                                    var shell = SymbolicShell(
                                        programs: plan.programs(shape: tinyShape, granularity: granularity),
                                        shape: tinyShape, sampledTokens: n, shuffleSeed: seed, cached: plan.cachedRuns(onHost:))
                                    do { try shell.run() } catch {
                                        Issue.record("\(what): \(error)")
                                        continue
                                    }
                                    #expect(shell.sampled.count == n, "\(what)")
                                    #expect(shell.nothingLeaked, "\(what)")
                                    #expect(
                                        shell.traffic == plan.analyticTraffic(shape: tinyShape, sampledTokens: n), "\(what)")
                                    for h in 0..<hosts {
                                        let shard = plan.shardSegment(h)
                                        for l in 0..<tinyShape.layers {
                                            if let seen = shell.attention[h]?[LayerSegment(layer: l, segment: shard)] {
                                                _ = expectExact(seen, shard, "\(what) host \(h) L\(l)")
                                            } else {
                                                Issue.record("\(what): host \(h) never finished its shard at L\(l)")
                                            }
                                        }
                                        let decodes = decode == .phase2 || h == plan.queryHost
                                        if decodes {
                                            expectPhaseTwo(
                                                shell, host: h, layers: tinyShape.layers, sampledTokens: n,
                                                query: plan.querySegment, generated: plan.generatedSegment, what: what)
                                        } else {
                                            #expect(shell.attention[h]?.count == tinyShape.layers, "\(what) host \(h)")
                                        }
                                        var held = Set(plan.chunks(onHost: h).map { KVRef.block($0) })
                                        if decode == .lastHost && h == plan.queryHost {
                                            held = Set((0..<plan.chunkCount).map { KVRef.block($0) })
                                        }
                                        if h == plan.queryHost { held.insert(.appended) }
                                        #expect(shell.heldStores(h, layer: 1) == held, "\(what) host \(h)")
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// 24 heads over 12 KV heads: Ulysses runs on 1, 2, 3, 4, 6 or 12 hosts.
    static let ulyssesShape = ModelShape(layers: 2, hidden: 96, heads: 24, kvHeads: 12, headDim: 4, ffn: 16, vocab: 32, bytesPerElement: 4)

    /// 8 heads over 2 KV heads: Ulysses degree 4 or 8 replicates each KV head on 2 or 4 hosts.
    static let replicatedShape = ModelShape(layers: 2, hidden: 32, heads: 8, kvHeads: 2, headDim: 4, ffn: 16, vocab: 32, bytesPerElement: 4)

    /// Ulysses (ring degree 1) and USP (Ulysses degree × ring degree = hosts); `replicated`: on
    /// ``replicatedShape``, the Ulysses degree beyond its KV heads.
    @Test("Ulysses and USP terminate, are exact, join every head group, send the closed-form bytes",
          arguments: [(1, 1, false), (2, 1, false), (3, 1, false), (4, 1, false), (2, 2, false), (4, 2, false), (6, 2, false),
                      (6, 3, false), (8, 4, false), (3, 3, false), (4, 1, true), (8, 1, true), (8, 2, true)])
    func ulysses(hosts: Int, ringDegree: Int, replicated: Bool) throws {
        let shape = replicated ? Self.replicatedShape : Self.ulyssesShape
        for length in [hosts * 5, hosts * 5 + 3] {
            for n in [1, 3] {
                for seed in schedules {
                    let plan = try UlyssesPlan(contextLength: length, queryLength: 2, hosts: hosts, ringDegree: ringDegree)
                    try plan.check(shape: shape)
                    let what = "ulysses L\(length) H\(hosts) R\(ringDegree) n\(n) seed \(String(describing: seed))"
                    var shell = SymbolicShell(programs: plan.programs(shape: shape), shape: shape, sampledTokens: n, shuffleSeed: seed)
                    do { try shell.run() } catch {
                        Issue.record("\(what): \(error)")
                        continue
                    }
                    #expect(shell.sampled.count == n, "\(what)")
                    #expect(shell.nothingLeaked, "\(what)")
                    #expect(shell.traffic == plan.analyticTraffic(shape: shape, sampledTokens: n), "\(what)")
                    for h in 0..<hosts {
                        let shard = plan.shardSegment(h)
                        for l in 0..<shape.layers {
                            let key = LayerSegment(layer: l, segment: shard)
                            if let seen = shell.attention[h]?[key] {
                                _ = expectExact(seen, shard, "\(what) host \(h) L\(l)")
                                #expect(shell.hosts[h].headGroupsJoined[key] == plan.headDegree, "\(what) host \(h) L\(l)")
                            } else {
                                Issue.record("\(what): host \(h) never finished its shard at L\(l)")
                            }
                        }
                        // Each host keeps its head group's K,V of its ring group's tokens; the decoding
                        // (last) ring group keeps every ring group's block.
                        let kept = plan.ringGroup(h) == ringDegree - 1
                            ? Set((0..<ringDegree).map { plan.store(headGroup: plan.headGroup(h), ringGroup: $0) }) : [plan.store(h)]
                        #expect(shell.heldStores(h, layer: 1) == kept, "\(what) host \(h)")
                    }
                    expectPhaseTwo(shell, host: plan.queryHost, layers: shape.layers, sampledTokens: n,
                                   query: plan.querySegment, generated: plan.generatedSegment, what: what)
                }
            }
        }
    }

    @Test("APB terminates; each block sees anchor, earlier passing blocks and itself; closed-form bytes", arguments: [1, 2, 3, 4])
    func apb(hosts: Int) throws {
        for length in [hosts * 16, hosts * 16 - 3] {
            for n in [1, 3] {
                for seed in schedules {
                    let plan = try APBPlan(contextLength: length, queryLength: 2, hosts: hosts, anchorSize: 4, passingSize: 3)
                    let what = "apb L\(length) H\(hosts) n\(n) seed \(String(describing: seed))"
                    var shell = SymbolicShell(programs: plan.programs(shape: tinyShape), shape: tinyShape, sampledTokens: n, shuffleSeed: seed)
                    do { try shell.run() } catch {
                        Issue.record("\(what): \(error)")
                        continue
                    }
                    #expect(shell.sampled.count == n, "\(what)")
                    #expect(shell.nothingLeaked, "\(what)")
                    #expect(shell.traffic == plan.analyticTraffic(shape: tinyShape, sampledTokens: n), "\(what)")
                    for h in 0..<hosts {
                        let segment = plan.segment(h)
                        let block = plan.star.blockTokens(h)
                        // The symbolic shell passes each block's most recent candidates.
                        let passing = (0..<h).flatMap { plan.candidates($0).suffix(plan.passingSize) }
                        for l in 0..<tinyShape.layers {
                            guard let seen = shell.attention[h]?[LayerSegment(layer: l, segment: segment)] else {
                                Issue.record("\(what): host \(h) never finished its block at L\(l)")
                                continue
                            }
                            for (row, t) in segment.tokenIndices.enumerated() {
                                let expected = block.contains(t) && h > 0
                                    ? Set(0..<4).union(passing).union(block.lowerBound...t) : Set(0...t)
                                #expect(seen[row] == expected, "\(what) host \(h) L\(l) token \(t)")
                            }
                        }
                        var held: Set<KVRef> = [.block(h)]
                        if h == plan.queryHost { held.insert(.appended) }
                        #expect(shell.heldStores(h, layer: 1) == held, "\(what) host \(h)")
                    }
                    expectPhaseTwo(shell, host: plan.queryHost, layers: tinyShape.layers, sampledTokens: n,
                                   query: plan.querySegment, generated: plan.generatedSegment, what: what)
                }
            }
        }
    }

    @Test("Ulysses' degree is bounded by the heads: it divides them and divides or is a multiple of the KV heads")
    func ulyssesDegree() throws {
        let plan = try UlyssesPlan(contextLength: 64, queryLength: 2, hosts: 4)
        #expect(throws: PlanError.self) { try plan.check(shape: .smolLM2_135M) }
        do { try plan.check(shape: .smolLM2_135M) } catch {
            #expect(error.field == "UlyssesPlan.hosts" && error.value == "4")
            #expect(error.description.contains("heads allow (1, 3, 9)"), "\(error)")
        }
        for (hosts, shape) in [(3, ModelShape.smolLM2_135M), (9, .smolLM2_135M), (8, .llama31_8B), (16, .llama31_8B), (32, .llama31_8B),
                               (64, .llama31_70B)] {
            try UlyssesPlan(contextLength: 128, queryLength: 2, hosts: hosts).check(shape: shape)
        }
        for (hosts, shape) in [(6, ModelShape.smolLM2_135M), (12, .llama31_8B), (64, .llama31_8B), (24, .llama31_70B)] {
            #expect(throws: PlanError.self, "\(hosts) hosts") { try UlyssesPlan(contextLength: 128, queryLength: 2, hosts: hosts).check(shape: shape) }
        }
        // Beyond the KV heads a group has one KV head, shared with its neighbours.
        #expect(ModelShape.kvHeadRange(group: 5, of: 16, kvHeads: 8) == 2..<3 && ModelShape.kvHeadRange(group: 3, of: 4, kvHeads: 8) == 6..<8)
        #expect(ModelShape.llama31_8B.headInputBytesPerTokenPerLayer(groups: 16) == (2 + 2) * 128 * 2)
    }

    @Test("Ring attend ops expose each step's visible pairs; their sum is the plan's per-host work")
    func ringStepPairs() throws {
        for partition in [RingPlan.Partition.contiguous, .zigzag] {
            let plan = try RingPlan(contextLength: 8 * 16, queryLength: 1, hosts: 8, partition: partition)
            var shell = SymbolicShell(programs: plan.programs(shape: tinyShape), shape: tinyShape, sampledTokens: 1)
            try shell.run()
            for h in 0..<8 {
                var pairs: [Int] = []
                for op in shell.ops(h) {
                    if case .attend(0, let s, _, let p, _) = op, s.role == .shard(host: h) { pairs.append(p) }
                }
                let expected = (0..<8).map { plan.visiblePairs(host: h, step: $0) }.filter { $0 > 0 }
                #expect(pairs == expected, "\(partition) host \(h)")
                #expect(pairs.reduce(0, +) == plan.visiblePairs(host: h))
                let merges = shell.ops(h).filter {
                    if case .merge(0, let s, _) = $0 { return s.role == .shard(host: h) } else { return false }
                }
                #expect(merges == (pairs.count > 1 ? [.merge(layer: 0, plan.shardSegment(h), parts: pairs.count)] : []))
            }
        }
    }

    @Test("Global terminates and is exact", arguments: [1, 10])
    func global(length: Int) throws {
        for granularity in [Granularity.perLayer, .coarse] {
            for n in [1, 4] {
                let plan = try GlobalPlan(contextLength: length, queryLength: 2)
                var shell = SymbolicShell(
                    programs: [plan.program(shape: tinyShape, granularity: granularity)], shape: tinyShape,
                    sampledTokens: n)
                try shell.run()
                #expect(shell.sampled.count == n)
                #expect(shell.traffic.total == 0)
                #expect(shell.nothingLeaked)
                for l in 0..<tinyShape.layers {
                    let seen = try #require(shell.attention[0]?[LayerSegment(layer: l, segment: plan.contextSegment)])
                    _ = expectExact(seen, plan.contextSegment, "global L\(l)")
                }
                expectPhaseTwo(
                    shell, host: 0, layers: tinyShape.layers, sampledTokens: n, query: plan.querySegment,
                    generated: plan.generatedSegment, what: "global \(granularity)")
                if granularity == .coarse {
                    // Context, query, each generated token: one encode each.
                    let encodes = shell.ops(0).filter { if case .encode = $0 { return true } else { return false } }
                    #expect(encodes.count == 1 + n)
                }
            }
        }
    }

    @Test("Star with one block on one host runs exactly Global's op sequence")
    func starOneBlockIsGlobal() throws {
        for granularity in [Granularity.perLayer, .coarse] {
            for anchor in [0, 12] {
                let star = try StarPlan(contextLength: 12, queryLength: 3, blockSize: 12, anchorSize: anchor, hosts: 1)
                let global = try GlobalPlan(contextLength: 12, queryLength: 3)
                var a = SymbolicShell(
                    programs: star.programs(shape: tinyShape, granularity: granularity), shape: tinyShape, sampledTokens: 3)
                var b = SymbolicShell(
                    programs: [global.program(shape: tinyShape, granularity: granularity)], shape: tinyShape,
                    sampledTokens: 3)
                try a.run()
                try b.run()
                #expect(a.logShape(0) == b.logShape(0))
                #expect(a.logShape(0).count > 10)
            }
        }
    }

    @Test("Star ops carry anchor and block positions, and drop the anchor after every attend")
    func starOpPositions() throws {
        let plan = try StarPlan(contextLength: 24, queryLength: 2, blockSize: 8, anchorSize: 4, hosts: 3)
        var shell = SymbolicShell(programs: plan.programs(shape: tinyShape), shape: tinyShape, sampledTokens: 1)
        try shell.run()
        let host1 = shell.hosts[1].log
        guard case .compute(_, .embed(let seg)) = host1.first else {
            Issue.record("host 1 should start with embed, got \(String(describing: host1.first))")
            return
        }
        #expect(seg.role == .anchoredBlock(1))
        #expect(seg.positions == [0, 1, 2, 3] + (8..<16).map { Int32($0) })
        #expect(seg.tokenIndices == [0, 1, 2, 3] + Array(8..<16))
        let drops = host1.filter { if case .dropKV(_, .anchor(1)) = $0 { return true } else { return false } }
        #expect(drops.count == tinyShape.layers)
        // Anchored attention pairs: (a+b)(a+b+1)/2 = 78 per layer.
        let pairs = shell.ops(1).compactMap { op -> Int? in
            if case .attend(_, let s, _, let p, _) = op, s.role == .anchoredBlock(1) { return p }
            return nil
        }
        #expect(pairs == [78, 78])
        // Phase 2 on a context host: the query sees all 8 local tokens (no causal cut), keys = local block.
        let query = shell.ops(0).compactMap { op -> (Int, [KVRef])? in
            if case .attend(0, let s, let keys, let p, _) = op, s.role == .query { return (p, keys) }
            return nil
        }
        #expect(query.count == 1)
        #expect(query.first?.0 == 2 * 8)
        #expect(query.first?.1 == [.block(0)])
        // On the query host the query also attends causally to itself (appended KV).
        let qh = shell.ops(2).compactMap { op -> (Int, [KVRef])? in
            if case .attend(0, let s, let keys, let p, _) = op, s.role == .query { return (p, keys) }
            return nil
        }
        #expect(qh.first?.0 == 2 * 8 + 3)
        #expect(qh.first?.1 == [.block(2), .appended])
    }
}

@Suite("Star query host")
struct StarQueryHostTests {
    @Test("Any host can be the query host", arguments: [0, 1, 2])
    func anyQueryHost(queryHost: Int) throws {
        for pattern in Phase2Pattern.allCases {
            for seed in schedules {
                let plan = try StarPlan(
                    contextLength: 30, queryLength: 2, blockSize: 10, anchorSize: 5, hosts: 3, queryHost: queryHost,
                    phase2: pattern)
                var shell = SymbolicShell(
                    programs: plan.programs(shape: tinyShape), shape: tinyShape, sampledTokens: 3, shuffleSeed: seed)
                try shell.run()
                #expect(shell.traffic == plan.analyticTraffic(shape: tinyShape, sampledTokens: 3))
                for h in 0..<3 {
                    expectPhaseTwo(
                        shell, host: h, layers: tinyShape.layers, sampledTokens: 3, query: plan.querySegment,
                        generated: plan.generatedSegment, what: "qh \(queryHost) \(pattern)")
                    #expect(shell.heldStores(h).contains(.appended) == (h == queryHost))
                }
                // Only the query host samples.
                for h in 0..<3 where h != queryHost {
                    #expect(!shell.ops(h).contains(.sample))
                }
            }
        }
    }
}
