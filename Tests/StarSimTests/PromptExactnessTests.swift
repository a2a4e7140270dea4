import ConfigFiles
import DistributedAttention
import Foundation
import StarSim
import Testing
import TestSupport

/// Prompts a researcher controls token by token (`kind: raw`, `kind: tokens`) and the `--json` fields
/// that let a run be lined up with another implementation.
@Suite struct PromptExactnessTests {
    static func scenario(_ prompt: String, methods: String = "[global, star, {ring: {partition: zigzag}}]", file: String = "p.yaml") throws -> Scenario {
        try Scenario.parse(ConfigNode.parse("""
            name: p
            model: \(ScenarioPrepareTests.modelFile)
            prompt: \(prompt)
            cluster: {hosts: 3}
            methods: \(methods)
            generate: 3
            """, file: file))
    }

    @Test func rawTextIsTokenizedAsGivenWithNothingAdded() throws {
        let run = try ScenarioRun.execute(try Self.scenario(#"{kind: raw, context: "abc def ghi jkl mno pqr stu vwx yz", query: "Q?"}"#, methods: "[global]"))
        let session = try ModelSession(path: ScenarioPrepareTests.modelFile)
        #expect(run.prompt.split.context == session.tokenizer.encode("abc def ghi jkl mno pqr stu vwx yz"))
        #expect(run.prompt.split.query == session.tokenizer.encode("Q?"))
    }

    @Test func tokenIdsRunAsGivenAndTheJSONLinesEveryHostUp() throws {
        let ids = (0..<90).map { 3 + ($0 * 7) % 250 }
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let file = try dir.write("ids.json", #"{"context": \#(ids), "query": [5, 6, 7, 8]}"#)
        let yaml = try dir.write("s.yaml", "x")  // the scenario's directory holds ids.json
        let run = try ScenarioRun.execute(try Self.scenario("{kind: tokens, file: ids.json}", file: yaml))
        #expect(run.prompt.split.context.map(Int.init) == ids)
        #expect(run.prompt.split.query == [5, 6, 7, 8])
        _ = file
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ScenarioReport.json(run, topK: 3).utf8)) as? [String: Any])
        #expect(json["context_ids"] as? [Int] == ids)
        #expect(json["query_ids"] as? [Int] == [5, 6, 7, 8])
        for m in try #require(json["methods"] as? [[String: Any]]) {
            // Every context token is held by exactly one host's blocks.
            var covered = [Int](repeating: 0, count: ids.count)
            for host in try #require(m["layout"] as? [[String: Any]]) {
                for block in try #require(host["blocks"] as? [[String: Any]]) {
                    let r = try #require(block["tokens"] as? [Int])
                    for i in r[0]..<r[1] { covered[i] += 1 }
                }
            }
            #expect(covered.allSatisfy { $0 == 1 }, "\(m["method"] ?? "?")")
            // The top logits are sorted, and the first is the first generated token.
            let top = try #require(m["first_step_top_logits"] as? [[Any]])
            #expect(top.count == 3)
            let values = top.map { ($0[1] as! NSNumber).doubleValue }
            #expect(values == values.sorted(by: >))
            #expect((top[0][0] as! NSNumber).intValue == (m["generated_ids"] as! [Int])[0])
        }
        let star = try #require((json["methods"] as? [[String: Any]])?[1]["layout"] as? [[String: Any]])
        let anchors = star.flatMap { ($0["blocks"] as! [[String: Any]]).compactMap { $0["anchor"] as? [Int] } }
        #expect(anchors.count == 2 && anchors.allSatisfy { $0[0] == 0 })  // blocks 1 and 2 carry block 0's start
    }

    @Test(arguments: [
        (#"{kind: raw, context: "a", query: "b", format: chat}"#, "no chat template"),
        (#"{kind: raw, context: "a"}"#, "prompt.query"),
        ("{kind: tokens, context_ids: [1, 2], query_ids: []}", "prompt.query_ids"),
        ("{kind: tokens, context_ids: [1, -2], query_ids: [3]}", "out of range"),
        ("{kind: tokens, file: nothing-here.json}", "file not found"),
        ("{kind: tokens, file: x.json, context_ids: [1], query_ids: [2]}", "not both"),
        ("{kind: words}", "prompt.kind"),
    ])
    func badPromptsNameTheField(_ prompt: String, _ words: String) {
        do {
            _ = try Self.scenario(prompt)
            Issue.record("accepted \(prompt)")
        } catch {
            #expect("\(error)".contains(words), "\(error)")
        }
    }

    @Test func idsOutsideTheVocabularyAreRefusedBeforeRunning() throws {
        let s = try Self.scenario("{kind: tokens, context_ids: [1, 2, 3, 4, 5, 6], query_ids: [99999999]}")
        do {
            _ = try ScenarioRun.prepare(s)
            Issue.record("accepted an id outside the vocabulary")
        } catch {
            #expect("\(error)".contains("outside the model's vocabulary"))
        }
    }

    @Test func oneScenarioRunsEveryMethodOnSeveralClusterSizes() throws {
        let yaml = """
            name: sizes
            model: \(ScenarioPrepareTests.modelFile)
            prompt: {kind: tokens, context_ids: [\((0..<60).map { "\(3 + $0)" }.joined(separator: ", "))], query_ids: [5, 6]}
            cluster: {hosts: [2, 3]}
            methods: [global, star, ring]
            generate: 2
            """
        let s = try Scenario.parse(ConfigNode.parse(yaml, file: "sizes.yaml"))
        #expect(s.cluster.hostCounts == [2, 3] && s.cluster.hosts == 3)
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        var traced = s
        traced.traceDirectory = dir.path
        let prepared = try ScenarioRun.prepare(traced)
        #expect(prepared.methods.map { "\($0.method.name)@\($0.hosts)" } == ["global@1", "star@2", "star@3", "ring@2", "ring@3"])
        #expect(prepared.traceNames == ["sizes-global-1h-0.json", "sizes-star-2h-1.json", "sizes-star-3h-2.json",
                                        "sizes-ring-2h-3.json", "sizes-ring-3h-4.json"])
        let run = try ScenarioRun.execute(prepared)
        #expect(run.results.map(\.outcome.method.hosts) == [1, 2, 3, 2, 3])
        // Ring is exact on every size: the same tokens as global.
        for r in run.results where r.outcome.name == "ring" { #expect(r.outcome.generated == run.results[0].outcome.generated) }
        #expect(ScenarioReport.text(run).contains("cluster: 2, 3 hosts"))
        #expect(run.results.allSatisfy { $0.traceFile != nil })
        do {
            _ = try Scenario.parse(ConfigNode.parse(yaml.replacingOccurrences(of: "[2, 3]", with: "[2, 2]"), file: "sizes.yaml"))
            Issue.record("accepted a size given twice")
        } catch {
            #expect("\(error)".contains("cluster.hosts") && "\(error)".contains("twice"))
        }
    }
}
