import ConfigFiles
import DistributedAttention
import Foundation
import Llama
import Testing
@testable import StarSim
@testable import StarSimCLI

/// Tree decoding (`Phase2Pattern.tree`): the tree's shape, exactness on the real (tiny) model after
/// Star and Ring prefill against the model's own single-process forward pass, and where the bytes go.
@Suite struct TreeDecodingTests {
    @Test(arguments: [2, 3, 4, 5, 7, 8, 16, 33])
    func theTreeReachesEveryHostInLogLevelsWithBoundedFanIn(hosts: Int) {
        for root in [0, hosts - 1, hosts / 2] {
            let tree = Phase2Tree(participants: Array(0..<hosts), root: root)
            let levels = Int((log2(Double(hosts))).rounded(.up))
            #expect(tree.parent(of: root) == nil)
            var seen = Set<Int>()
            for h in 0..<hosts {
                // Every host reaches the root in at most ⌈log₂ H⌉ hops, and is its parent's child.
                var depth = 0, x = h
                while let p = tree.parent(of: x) {
                    #expect(tree.children(of: p).contains(x))
                    x = p
                    depth += 1
                }
                #expect(x == root && depth <= levels, "host \(h) of \(hosts): depth \(depth)")
                #expect(tree.children(of: h).count <= levels)
                for c in tree.children(of: h) { #expect(seen.insert(c).inserted, "\(c) has two parents") }
            }
            #expect(seen.count == hosts - 1)
        }
    }

    static let session = DistributedExecutionTests.session

    @Test(arguments: [2, 3, 5, 8])
    func treeDecodingIsExactAfterStarAndRingPrefill(hosts: Int) throws {
        let context = 24 * hosts, query = 5
        let p = DistributedExecutionTests.prompt(context: context, query: query, seed: UInt64(30 + hosts))
        let global = try DistributedExecutionTests.run(.global(try GlobalPlan(contextLength: context, queryLength: query)), p, steps: 4)
        // Ring prefill is exact: with tree decoding the whole run equals global attention.
        let ring = try RingPlan(contextLength: context, queryLength: query, hosts: hosts, partition: .zigzag, phase2: .tree)
        let r = try DistributedExecutionTests.run(.ring(ring), p, steps: 4)
        #expect(r.generated == global.generated)
        #expect(DistributedExecutionTests.maxDifference(r.logits, global.logits) <= 1e-3)
        // Star (approximate in phase 1): the tree gives what gather–broadcast gives.
        func star(_ pattern: Phase2Pattern) throws -> MethodOutcome {
            try DistributedExecutionTests.run(.star(try StarPlan(contextLength: context, queryLength: query, blockSize: 24,
                                                                  anchorSize: 24, hosts: hosts, phase2: pattern)), p, steps: 4)
        }
        let t = try star(.tree), g = try star(.gatherBroadcast)
        #expect(t.generated == g.generated)
        #expect(DistributedExecutionTests.maxDifference(t.logits, g.logits) <= 1e-4)
    }

    @Test func theTreeTakesTheLoadOffTheQueryHost() throws {
        // 8 hosts: gather–broadcast makes the query host send 7 merged vectors per layer per token
        // and receive 7 partials; the tree caps both at ⌈log₂ 8⌉ = 3.
        let shape = ModelShape.smolLM2_135M
        func sent(_ pattern: Phase2Pattern) throws -> [Int] {
            let plan = try StarPlan(contextLength: 64, queryLength: 4, blockSize: 8, anchorSize: 8, hosts: 8, phase2: pattern)
            let t = plan.analyticTraffic(shape: shape, sampledTokens: 3)
            return (0..<8).map { t[$0, .generation] }
        }
        let gather = try sent(.gatherBroadcast), tree = try sent(.tree)
        #expect(tree.max()! < gather.max()!)
        #expect(tree.reduce(0, +) == gather.reduce(0, +))  // the same vectors, sent from other hosts
        let vector = shape.heads * shape.headDim * shape.bytesPerElement
        #expect(gather[7] - 7 * 3 * 4 == 7 * shape.layers * 2 * vector)
        #expect(tree[7] - 7 * 3 * 4 == 3 * shape.layers * 2 * vector)
    }

    @Test func everyFrontEndNamesTheTree() throws {
        let yaml = "prompt: {kind: passkey}\nmethods: [star, {star: {phase2: tree}}, {ring: {partition: zigzag, phase2: tree}}]\n"
        let s = try Scenario.parse(ConfigNode.parse(yaml, file: "t.yaml"))
        #expect(s.methods.map(\.name) == ["star", "star+tree", "ring-zigzag+tree"])
        #expect(throws: ConfigError.self) {
            try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\nmethods: [{ring: {phase2: star}}]\n", file: "t.yaml"))
        }
        // project --phase2: the plan carries it; a bad value names the option.
        var command = try StarSimCommand.parseAsRoot(["project", "--phase2", "tree"])
        let project = try #require(command as? Project)
        #expect(try project.buildSweep().configs().allSatisfy { $0.phase2 == .tree })
        command = try StarSimCommand.parseAsRoot(["project", "--phase2", "ring"])
        do { try command.run(); Issue.record("accepted --phase2 ring") } catch let f as CommandFailure {
            #expect(f.code == 2 && f.message.contains("--phase2"))
        }
        let config = try #require(try project.buildSweep().configs().first { $0.method == .star })
        guard case .star(let plan) = try config.attentionMethod() else { Issue.record("not star"); return }
        #expect(plan.phase2 == .tree)
    }
}
