import ConfigFiles
import Foundation
import Llama
import StarSim
import Testing

@Suite struct ScenarioTests {
    let full = """
        name: demo
        seed: 7
        prompt: {kind: passkey, context_tokens: 2000, depth: 0.1, passkey: 12345}
        cluster: {hosts: 8, gpus_per_host: 2, device: a100-80gb, inter_host_link: ib-ndr, shape: ring}
        methods:
          - global
          - star: {block: 512, anchor: 0, anchor_source: previous-block, query_host: 3, phase2: all-gather}
          - ring: {partition: zigzag, decode: last-host}
        generate: 8
        timing: measured
        trace: traces
        timeline: true
        """

    /// Profile names are resolved when the run starts; an unknown one names the file and the field.
    @Test(arguments: [("device: h999", "demo.yaml: cluster.device"),
                      ("intra_host_link: nvlink-9", "demo.yaml: cluster.intra_host_link"),
                      ("inter_host_link: carrier-pigeon", "demo.yaml: cluster.inter_host_link")])
    func unknownProfilesNameTheField(field: String, expected: String) throws {
        let yaml = "name: x\nprompt: {kind: passkey}\ncluster: {hosts: 2, \(field)}\nmethods: [global]\n"
        let scenario = try Scenario.parse(ConfigNode.parse(yaml, file: "demo.yaml"))
        #expect(throws: (any Error).self) { _ = try ScenarioRun.clusterSetup(scenario) }
        do { _ = try ScenarioRun.clusterSetup(scenario) } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
        let ok = try Scenario.parse(ConfigNode.parse(full, file: "demo.yaml"))
        let setup = try ScenarioRun.clusterSetup(ok)
        #expect(setup.topology.hosts == 8 && setup.topology.gpusPerHost == 2 && setup.timing == .measured)
    }

    @Test func parsesEveryField() throws {
        let s = try Scenario.parse(ConfigNode.parse(full, file: "demo.yaml"))
        #expect(s.name == "demo")
        #expect(s.seed == 7)
        #expect(s.prompt == .passkey(contextTokens: 2000, depth: 0.1, passkey: 12345))
        #expect(s.cluster.hosts == 8 && s.cluster.gpusPerHost == 2 && s.cluster.shape == "ring")
        #expect(s.cluster.device == "a100-80gb" && s.cluster.interHostLink == "ib-ndr")
        #expect(s.methods.count == 3)
        guard case .star(let star) = s.methods[1], case .ring(let ring) = s.methods[2] else {
            Issue.record("methods parsed as \(s.methods)"); return
        }
        #expect(star.blockSize == 512 && star.anchorSize == 0 && star.anchorSource == .previousBlock)
        #expect(star.queryHost == 3 && star.phase2 == .allGather)
        #expect(ring.partition == .zigzag && ring.decode == .lastHost)
        #expect(s.generateTokens == 8 && s.timing == .measured && s.traceDirectory == "traces" && s.timeline)
    }

    @Test func defaultsAreSensible() throws {
        let s = try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\nmethods: [global, star, ring]\n", file: "m.yaml"))
        #expect(s.name == "m")
        #expect(s.cluster.hosts == 4)
        #expect(s.prompt == .passkey(contextTokens: 4000, depth: 0.5, passkey: nil))
        #expect(s.methods.map(\.name) == ["global", "star", "ring"])
        #expect(s.timing == .modeled)
        #expect(s.promptFormat == .completion)
        let chat = try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey, format: chat}\nmethods: [global]\n", file: "c.yaml"))
        #expect(chat.promptFormat == .chat)
    }

    @Test(arguments: [
        ("prompt: {kind: passkey}\nmethods: [global]\nhosts: 4\n", "m.yaml:3: field 'hosts': unknown field"),
        ("prompt: {kind: passkey}\nmethods: [glob]\n", "unknown method 'glob'; expected one of: global, star, star-noanchor, star-prev, ring, ring-zigzag, ring-striped, ring-passq, ring-zigzag-passq, ring-striped-passq, ulysses, usp, apb, allgather, allgather-zigzag, allgather-striped"),
        ("prompt: {kind: passkey}\nmethods: []\n", "expected at least one method"),
        ("methods: [global]\n", "field 'prompt': missing"),
        ("prompt: {kind: passkey, depth: 1.5}\nmethods: [global]\n", "field 'prompt.depth': 1.5 is out of range"),
        ("prompt: {kind: task, task: nope}\nmethods: [global]\n", "'nope' is not a known task"),
        ("prompt: {kind: passkey}\nmethods: [{star: {blok: 3}}]\n", "did you mean 'block'"),
        ("prompt: {kind: passkey}\nmethods: [{ring: {partition: spiral}}]\n", "'spiral' is not one of: contiguous, zigzag, striped"),
        ("prompt: {kind: passkey}\nmethods: [global]\ncluster: {hosts: 0}\n", "field 'cluster.hosts': 0 is out of range"),
        ("prompt: {kind: passkey}\nmethods: [global]\ntiming: fast\n", "'fast' is not one of: modeled, measured"),
        ("prompt: {kind: passkey, format: html}\nmethods: [global]\n", "field 'prompt.format': 'html' is not one of: completion, chat"),
    ])
    func badInputIsNamed(yaml: String, expected: String) throws {
        let error = #expect(throws: ConfigError.self) { try Scenario.parse(ConfigNode.parse(yaml, file: "m.yaml")) }
        #expect(error?.description.contains(expected) == true, "got: \(error?.description ?? "nil")")
    }
}

/// `ScenarioRun.prepare` (what `starsim validate` and `run` do before any method runs) on a tiny model.
@Suite struct ScenarioPrepareTests {
    static let modelFile: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-prepare-\(getpid()).gguf").path
        try! TinyLlama.write(config: TinyLlama.testConfig, seed: 5, to: path)
        return path
    }()

    static func scenario(methods: String, hosts: Int = 4) throws -> Scenario {
        let yaml = """
            name: p
            model: \(modelFile)
            prompt: {kind: text, context: "\(String(repeating: "abcdefgh ", count: 20))", question: "what?"}
            cluster: {hosts: \(hosts)}
            methods: \(methods)
            generate: 4
            """
        return try Scenario.parse(ConfigNode.parse(yaml, file: "p.yaml"))
    }

    @Test func buildsEveryPlanBeforeRunning() throws {
        let p = try ScenarioRun.prepare(try Self.scenario(methods: "[global, star, {ring: {partition: zigzag}}]"))
        #expect(p.methods.map(\.hosts) == [1, 4, 4])
        #expect(p.methods.map(\.plan.contextLength) == Array(repeating: p.prompt.split.context.count, count: 3))
        #expect(p.prompt.split.context.count > 150)
    }

    /// `run --csv` and `--json` carry the same per-method numbers: one CSV row per method, parsed back.
    @Test func csvAndJSONReportTheSameMethods() throws {
        let run = try ScenarioRun.execute(try Self.scenario(methods: "[global, star, ring]", hosts: 2))
        let lines = ScenarioReport.csv(run).split(separator: "\n").map(String.init)
        #expect(lines.first == "scenario,method,plan,hosts,answer,score,time_to_first_token_s,time_per_output_token_s,"
            + "total_s,bytes_moved,peak_memory_per_host_bytes,wall_s,trace")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ScenarioReport.json(run).utf8)) as? [String: Any])
        let methods = try #require(json["methods"] as? [[String: Any]])
        #expect(lines.count == 1 + methods.count && methods.count == 3)
        for (line, m) in zip(lines.dropFirst(), methods) {
            // Answers of a tiny random model may hold commas or quotes: the quoted field is last but
            // several, so check the fields before it and the numbers after it from the right.
            #expect(line.hasPrefix("p,\(m["method"] as! String),"))
            // ttft, tpot, total, bytes, peak memory, wall, trace
            let tail = Array(line.split(separator: ",", omittingEmptySubsequences: false).suffix(7).map(String.init))
            let total = try #require(Double(tail[2]))
            #expect(abs(total - (m["total_s"] as! Double)) <= 1e-12 * max(1, total))
            #expect(Int(tail[3]) == (m["bytes_moved"] as! Int))
            #expect(Int64(tail[4]) == (m["peak_memory_per_host_bytes"] as! NSNumber).int64Value)
        }
    }

    /// A bad last method is reported before the first one would run, naming the file and method.
    @Test func aBadMethodFailsBeforeAnyRun() throws {
        let s = try Self.scenario(methods: "[global, {star: {block: 100000}}]")
        do {
            _ = try ScenarioRun.prepare(s)
            Issue.record("a block larger than the context was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("p.yaml") && text.contains("methods[1]"), "\(text)")
        }
    }
}
