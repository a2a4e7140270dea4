import DistributedAttention
import Testing

@Suite("Traffic")
struct TrafficTests {
    @Test("Ring prefill: (H−1)·layers·2·b·kvHeads·headDim·bytes per host, equal to the programs' sends")
    func ringPrefillBytes() throws {
        let shape = ModelShape.smolLM2_135M
        for hosts in [2, 4, 8] {
            for partition in [RingPlan.Partition.contiguous, .zigzag] {
                let b = 16
                let plan = try RingPlan(
                    contextLength: hosts * b, queryLength: 1, hosts: hosts, partition: partition, decode: .lastHost)
                let closedForm = (hosts - 1) * shape.layers * 2 * b * shape.kvHeads * shape.headDim * shape.bytesPerElement
                let analytic = plan.analyticTraffic(shape: shape, sampledTokens: 1)
                var shell = SymbolicShell(programs: plan.programs(shape: shape), shape: shape, sampledTokens: 1)
                try shell.run()
                for h in 0..<hosts {
                    #expect(analytic[h, .contextEncoding] == closedForm)
                    #expect(shell.traffic[h, .contextEncoding] == closedForm, "H\(hosts) \(partition) host \(h)")
                    #expect(shell.traffic.total(host: h) == closedForm)  // .lastHost: no decode traffic
                }
            }
        }
    }

    /// Phase 2 per host, written out independently of the library's formula.
    /// Segments through every layer: the query (q tokens) and n − 1 generated tokens.
    /// gather–broadcast: a context host sends one partial per layer per token; the query host sends
    /// one merged vector per layer per token to each other host. all-gather: every host sends its
    /// partial to each other host. The query host also sends q token ids and n sampled ids to each other host.
    func expectedPhaseTwo(hosts: Int, host: Int, queryHost: Int, q: Int, n: Int, pattern: Phase2Pattern, shape: ModelShape)
        -> Int
    {
        let tokens = q + n - 1
        let vector = shape.heads * shape.headDim * shape.bytesPerElement
        let partial = vector + shape.heads * 4
        var bytes: Int
        switch pattern {
        case .gatherBroadcast:
            bytes = host == queryHost ? (hosts - 1) * shape.layers * tokens * vector : shape.layers * tokens * partial
        case .allGather:
            bytes = (hosts - 1) * shape.layers * tokens * partial
        case .tree:
            // Ranks count from the query host; rank r's parent is r with its lowest set bit cleared.
            let rank = (host - queryHost + hosts) % hosts
            let children = (1..<hosts).filter { $0 & ($0 - 1) == rank }.count
            bytes = (rank == 0 ? 0 : shape.layers * tokens * partial) + children * shape.layers * tokens * vector
        }
        if host == queryHost { bytes += (hosts - 1) * (q + n) * 4 }
        return bytes
    }

    @Test("Star phase 2: one hidden vector + one fp32 scalar per head per layer per token", arguments: [2, 4, 8])
    func starPhaseTwoBytes(hosts: Int) throws {
        let shape = ModelShape.smolLM2_135M
        for pattern in Phase2Pattern.allCases {
            for n in [1, 5] {
                let plan = try StarPlan(
                    contextLength: 8 * hosts, queryLength: 4, blockSize: 8, anchorSize: 8, hosts: hosts, phase2: pattern)
                var shell = SymbolicShell(
                    programs: plan.programs(shape: shape, granularity: .coarse), shape: shape, sampledTokens: n)
                try shell.run()
                #expect(shell.traffic.total(phase: .contextEncoding) == 0)
                for h in 0..<hosts {
                    let expected = expectedPhaseTwo(
                        hosts: hosts, host: h, queryHost: plan.queryHost, q: 4, n: n, pattern: pattern, shape: shape)
                    #expect(shell.traffic.total(host: h) == expected, "H\(hosts) \(pattern) n\(n) host \(h)")
                }
                #expect(shell.traffic == plan.analyticTraffic(shape: shape, sampledTokens: n))
            }
        }
    }

    @Test("Message sizes follow the model shape")
    func messageSizes() {
        let shape = ModelShape.llama31_70B
        let seg = Segment(role: .query, runs: [TokenRun(tokens: 0..<10, firstPosition: 0, kv: .appended)])
        #expect(Message(.partial(layer: 0, seg), shape: shape).bytes == 10 * (64 * 128 * 2 + 64 * 4))
        #expect(Message(.merged(layer: 0, seg), shape: shape).bytes == 10 * 8192 * 2)
        #expect(Message(.kv(layer: 0, origin: 0, blocks: [.block(0)], tokens: 32_768), shape: shape).bytes == 32_768 * 2 * 8 * 128 * 2)
        #expect(Message(.queryTokens(seg), shape: shape).bytes == 40)
        #expect(Message(.token(index: 0, id: 5, stop: false), shape: shape).bytes == 4)
    }
}

@Suite("AttentionMethod")
struct AttentionMethodTests {
    @Test("The uniform wrapper runs the same programs and reports KV held per host")
    func wrapper() throws {
        let star = try StarPlan(contextLength: 40, queryLength: 2, blockSize: 10, anchorSize: 10, hosts: 3)
        let ring = try RingPlan(contextLength: 40, queryLength: 2, hosts: 4, partition: .zigzag, decode: .lastHost)
        let global = try GlobalPlan(contextLength: 40, queryLength: 2)
        for method in [AttentionMethod.star(star), .ring(ring), .global(global)] {
            var shell = SymbolicShell(programs: method.programs(shape: tinyShape), shape: tinyShape, sampledTokens: 2)
            try shell.run()
            #expect(shell.programs.count == method.hosts)
            #expect(shell.traffic == method.analyticTraffic(shape: tinyShape, sampledTokens: 2), "\(method)")
            for h in 0..<method.hosts {
                let context = shell.hosts[h].kv.filter {
                    if $0.key.layer == 0, case .block = $0.key.ref { return true } else { return false }
                }.reduce(0) { $0 + $1.value.count }
                #expect(context == method.contextKVTokens(host: h), "\(method) host \(h)")
            }
        }
        #expect(AttentionMethod.star(star).contextKVTokens(host: 0) == 20)
        #expect(AttentionMethod.ring(ring).contextKVTokens(host: 3) == 40)
    }
}
