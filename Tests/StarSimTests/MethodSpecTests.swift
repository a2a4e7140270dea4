import ConfigFiles
import DistributedAttention
import StarSim
import Testing

/// One vocabulary for a method on a cluster: every front end parses the same names into the same
/// spec and builds its plan through the same builder.
@Suite struct MethodSpecTests {
    @Test func everyNameParsesEverywhereToTheSameSpec() throws {
        for kind in MethodKind.allCases {
            #expect(try MethodKind.parse(" \(kind.rawValue.uppercased()) ") == kind)
            // Scenario YAML …
            let yaml = "prompt: {kind: passkey}\nmethods: [\(kind.rawValue)]\n"
            let scenario = try Scenario.parse(ConfigNode.parse(yaml, file: "m.yaml"))
            #expect(scenario.methods == [MethodSpec(kind: kind)])
            // … evaluation runs …
            #expect(EvaluationMethod(kind: kind, hosts: 4).scenarioMethod == MethodSpec(kind: kind))
        }
        #expect(throws: StarSimError.self) { try MethodKind.parse("stripe") }
    }

    /// The one plan builder: the ablation names mean the same plan in a scenario and in a projection.
    @Test func ablationsPlanTheSameInScenariosAndProjections() throws {
        let scenarioPlan = try MethodSpec(kind: .starNoAnchor).plan(contextLength: 4096, queryLength: 16, hosts: 4, field: "methods[0]")
        let projected = try ProjectionConfig(model: .smolLM2_135M, method: .starNoAnchor, contextLength: 4096, queryLength: 16,
                                             hosts: 4).attentionMethod()
        guard case .star(let a) = scenarioPlan, case .star(let b) = projected else {
            Issue.record("not star: \(scenarioPlan), \(projected)")
            return
        }
        #expect(a.anchorSize == 0 && b.anchorSize == 0 && a.blockSize == 1024 && b.blockSize == 1024)
        guard case .star(let prev) = try MethodSpec(kind: .starPrevious, blockSize: 512, anchorSize: 128)
            .plan(contextLength: 4096, queryLength: 16, hosts: 8) else { Issue.record("not star"); return }
        #expect(prev.anchorSource == .previousBlock && prev.anchorSize == 128)
        guard case .ring(let zz) = try MethodSpec(kind: .ringZigzag).plan(contextLength: 4096, queryLength: 16, hosts: 4) else {
            Issue.record("not ring"); return
        }
        #expect(zz.partition == .zigzag)
        #expect(throws: StarSimError.self) {
            try MethodSpec(kind: .star, blockSize: 4096).plan(contextLength: 4096, queryLength: 16, hosts: 4, field: "methods[1]")
        }
    }
}
