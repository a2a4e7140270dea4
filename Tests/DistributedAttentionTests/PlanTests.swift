import DistributedAttention
import Testing
import TestSupport

@Suite("Plans")
struct PlanTests {
    @Test("Star blocks, anchors and positions are exactly as specified")
    func starPositions() throws {
        let plan = try StarPlan(contextLength: 40, queryLength: 3, blockSize: 10, anchorSize: 4, hosts: 3)
        #expect(plan.blockCount == 4)
        #expect(plan.queryHost == 2)
        #expect((0..<3).map { plan.blocks(onHost: $0) } == [0..<2, 2..<3, 3..<4])
        #expect(plan.host(ofBlock: 3) == 2)
        // Block 0 alone at positions 0..<10.
        let s0 = plan.encodingSegment(0)
        #expect(s0.role == .block(0))
        #expect(s0.positions == (0..<10).map { Int32($0) })
        #expect(s0.tokenIndices == Array(0..<10))
        // Block 2: anchor tokens 0..<4 at positions 0..<4, then tokens 20..<30 at positions 20..<30.
        let s2 = plan.encodingSegment(2)
        #expect(s2.role == .anchoredBlock(2))
        #expect(s2.tokenIndices == Array(0..<4) + Array(20..<30))
        #expect(s2.positions == (0..<4).map { Int32($0) } + (20..<30).map { Int32($0) })
        #expect(s2.runs.map(\.kv) == [.anchor(2), .block(2)])
        // Query continues at L; generated token n at L + q + n.
        #expect(plan.querySegment.positions == [40, 41, 42])
        #expect(plan.querySegment.tokenIndices == [40, 41, 42])
        #expect(plan.generatedSegment(0).positions == [43])
        #expect(plan.generatedSegment(5).tokenIndices == [48])
    }

    @Test("Previous-block anchors keep that block's own positions")
    func previousBlockAnchor() throws {
        let plan = try StarPlan(
            contextLength: 40, queryLength: 1, blockSize: 10, anchorSize: 4, anchorSource: .previousBlock, hosts: 2)
        let s2 = plan.encodingSegment(2)
        #expect(s2.tokenIndices == Array(16..<20) + Array(20..<30))
        #expect(s2.positions == (16..<30).map { Int32($0) })
        #expect(plan.anchorRun(0) == nil)
    }

    @Test("The last Star block may be shorter; blocks are spread evenly, block 0 on host 0")
    func starShortLastBlockAndSpread() throws {
        let plan = try StarPlan(contextLength: 95, queryLength: 2, blockSize: 10, anchorSize: 10, hosts: 4)
        #expect(plan.blockCount == 10)
        #expect(plan.blockTokens(9) == 90..<95)
        #expect((0..<4).map { plan.blocks(onHost: $0).count } == [3, 3, 2, 2])
        #expect(plan.blocks(onHost: 0).lowerBound == 0)
        #expect(plan.blocks(onHost: 3).upperBound == 10)
        #expect((0..<4).reduce(0) { $0 + plan.contextTokens(onHost: $1) } == 95)
        for h in 0..<4 { for i in plan.blocks(onHost: h) { #expect(plan.host(ofBlock: i) == h) } }
        let none = try StarPlan(contextLength: 95, queryLength: 2, blockSize: 10, anchorSize: 0, hosts: 4)
        #expect(none.encodingSegment(5).role == .block(5))
    }

    @Test("Ring chunks cover every token exactly once", arguments: [1, 2, 3, 4, 8])
    func ringCoverage(hosts: Int) throws {
        for partition in [RingPlan.Partition.contiguous, .zigzag] {
            for length in [2 * hosts, 2 * hosts * 7, 2 * hosts * 7 + 5] {
                let plan = try RingPlan(contextLength: length, queryLength: 1, hosts: hosts, partition: partition)
                var all: [Int] = []
                for h in 0..<hosts {
                    let runs = plan.runs(onHost: h)
                    for r in runs { #expect(r.positions.map { Int($0) } == Array(r.tokens)) }
                    all += runs.flatMap { Array($0.tokens) }
                }
                #expect(all.sorted() == Array(0..<length))
                let sizes = (0..<plan.chunkCount).map { plan.chunkTokens($0).count }
                #expect(sizes.max()! - sizes.min()! <= 1)
            }
        }
        let zz = try RingPlan(contextLength: 16 * hosts, queryLength: 1, hosts: hosts, partition: .zigzag)
        for h in 0..<hosts { #expect(zz.chunks(onHost: h) == [h, 2 * hosts - 1 - h]) }
    }

    @Test("Contiguous ring is causally imbalanced; zigzag is balanced within one chunk²")
    func ringBalance() throws {
        let hosts = 8
        let b = 64
        let plain = try RingPlan(contextLength: hosts * b, queryLength: 1, hosts: hosts, partition: .contiguous)
        #expect(plain.visiblePairs(host: 0) == b * (b + 1) / 2)  // ≈ ½ b²
        #expect(plain.visiblePairs(host: hosts - 1) == (hosts - 1) * b * b + b * (b + 1) / 2)  // ≈ (H − ½) b²
        // Steps whose block is in the causal future see nothing.
        #expect(plain.visiblePairs(host: 0, step: 1) == 0)
        let zz = try RingPlan(contextLength: hosts * b, queryLength: 1, hosts: hosts, partition: .zigzag)
        let work = (0..<hosts).map { zz.visiblePairs(host: $0) }
        let chunk = b / 2
        #expect(work.max()! - work.min()! <= chunk * chunk)
        // Both are exact: total work is the causal triangle.
        let triangle = hosts * b * (hosts * b + 1) / 2
        #expect((0..<hosts).reduce(0) { $0 + plain.visiblePairs(host: $1) } == triangle)
        #expect(work.reduce(0, +) == triangle)
    }

    @Test("Visible-pair counting matches brute force")
    func visiblePairsBruteForce() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let q0 = Int32.random(in: 0..<40, using: &rng)
            let qn = Int32.random(in: 0..<12, using: &rng)
            let k0 = Int32.random(in: 0..<40, using: &rng)
            let kn = Int32.random(in: 0..<12, using: &rng)
            var brute = 0
            for p in q0..<(q0 + qn) { for k in k0..<(k0 + kn) where k <= p { brute += 1 } }
            #expect(VisiblePairs.count(queries: q0..<(q0 + qn), keys: k0..<(k0 + kn)) == brute)
        }
    }

    @Test("Invalid plans are refused with a message naming the field, value and expectation")
    func validation() {
        func message(_ body: () throws -> Void) -> String? {
            do {
                try body()
                return nil
            } catch let error as PlanError {
                return error.description
            } catch {
                return "unexpected error type \(error)"
            }
        }
        #expect(
            message { _ = try StarPlan(contextLength: 10, queryLength: 1, blockSize: 20, anchorSize: 0, hosts: 1) }
                == "StarPlan.blockSize = 20 is invalid: expected at most contextLength (10)")
        #expect(
            message { _ = try StarPlan(contextLength: 10, queryLength: 1, blockSize: 5, anchorSize: 5, hosts: 3) }
                == "StarPlan.hosts = 3 is invalid: expected at most the number of blocks (2 = ⌈10/5⌉); every host needs a block")
        #expect(
            message { _ = try StarPlan(contextLength: 10, queryLength: 1, blockSize: 5, anchorSize: 6, hosts: 1) }
                == "StarPlan.anchorSize = 6 is invalid: expected at most blockSize (5); the anchor is cut from one block")
        #expect(
            message { _ = try StarPlan(contextLength: 10, queryLength: 1, blockSize: 5, anchorSize: 5, hosts: 2, queryHost: 2) }
                == "StarPlan.queryHost = 2 is invalid: expected a host in 0..<2")
        #expect(
            message { _ = try StarPlan(contextLength: 10, queryLength: 1, blockSize: 5, anchorSize: 5, hosts: 0) }
                == "StarPlan.hosts = 0 is invalid: expected at least 1")
        #expect(
            message { _ = try StarPlan(contextLength: 10, queryLength: 0, blockSize: 5, anchorSize: 5, hosts: 1) }
                == "StarPlan.queryLength = 0 is invalid: expected at least 1 token (the query produces the first logits)")
        #expect(
            message { _ = try RingPlan(contextLength: 10, queryLength: 1, hosts: 8, partition: .zigzag) }
                == "RingPlan.contextLength = 10 is invalid: expected at least 2·hosts = 16 (zigzag) tokens so that every chunk holds a token")
        #expect(
            message { _ = try RingPlan(contextLength: 10, queryLength: 1, hosts: 0) }
                == "RingPlan.hosts = 0 is invalid: expected at least 1")
        #expect(
            message { _ = try GlobalPlan(contextLength: 0, queryLength: 1) }
                == "GlobalPlan.contextLength = 0 is invalid: expected at least 1 token")
        var shape = ModelShape.smolLM2_135M
        shape.bytesPerElement = 3
        #expect(message { try shape.validate() } == "ModelShape.bytesPerElement = 3 is invalid: expected 2 (bf16) or 4 (f32)")
        #expect(message { try ModelShape.llama31_70B.validate() } == nil)
        let error = #expect(throws: PlanError.self) {
            _ = try StarPlan(contextLength: 10, queryLength: 1, blockSize: 20, anchorSize: 0, hosts: 1)
        }
        #expect(error?.field == "StarPlan.blockSize")
        #expect(error?.value == "20")
    }

    /// Runs given as many pieces (a striped ring host: single-token runs) count the same pairs as
    /// position by position, with the fast path (disjoint keys) and the fallback (overlapping keys).
    @Test func visiblePairsOfManyRunsMatchPositionByPosition() throws {
        var rng = SplitMix64(seed: 11)
        func brute(_ q: [TokenRun], _ k: [TokenRun]) -> Int {
            let keys = k.flatMap { Array($0.positions) }
            return q.flatMap { Array($0.positions) }.reduce(0) { n, p in n + keys.filter { $0 <= p }.count }
        }
        for hosts in [2, 3, 5, 8] {
            let plan = try RingPlan(contextLength: 203, queryLength: 3, hosts: hosts, partition: .striped)
            for h in 0..<hosts {
                #expect(plan.runs(onHost: h).count == plan.contextTokens(onHost: h))
                #expect(plan.runs(onHost: h).map(\.tokens.lowerBound) == Array(stride(from: h, to: 203, by: hosts)))
                #expect(plan.runs(onHost: h).allSatisfy { $0.count == 1 && Int($0.firstPosition) == $0.tokens.lowerBound && $0.kv == .block(h) })
                for o in 0..<hosts {
                    let q = plan.runs(onHost: h), k = plan.runs(onHost: o)
                    #expect(VisiblePairs.count(queries: q, keys: k) == brute(q, k), "hosts \(hosts), \(h) ← \(o)")
                }
            }
            #expect((0..<hosts).flatMap { plan.runs(onHost: $0).map(\.tokens.lowerBound) }.sorted() == Array(0..<203))
        }
        for trial in 0..<50 {
            // Random disjoint key runs of random lengths, and random query runs (overlaps allowed).
            var keys: [TokenRun] = []
            var start = Int(rng.next() % 5)
            while start < 300 {
                let n = 1 + Int(rng.next() % 12)
                keys.append(TokenRun(tokens: start..<(start + n), firstPosition: Int32(start), kv: .block(0)))
                start += n + Int(rng.next() % 6)
            }
            keys.shuffle(using: &rng)
            let queries = (0..<(1 + Int(rng.next() % 20))).map { _ -> TokenRun in
                let a = Int(rng.next() % 320), n = 1 + Int(rng.next() % 30)
                return TokenRun(tokens: a..<(a + n), firstPosition: Int32(a), kv: .appended)
            }
            #expect(VisiblePairs.count(queries: queries, keys: keys) == brute(queries, keys), "trial \(trial)")
            let overlapping = keys + [TokenRun(tokens: 10..<40, firstPosition: 10, kv: .block(1))]
            #expect(VisiblePairs.count(queries: queries, keys: overlapping) == brute(queries, overlapping), "overlap \(trial)")
        }
    }
}
