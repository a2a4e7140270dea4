import Cluster
import ConfigFiles
import Foundation
import Testing
import TestSupport
@testable import StarSim
@testable import StarSimCLI

/// Faults in projections (`project --faults`, a sweep's `faults:`) and the `faults:` section's input
/// checks.
@Suite struct FaultProjectionTests {
    static func parse(_ yaml: String) throws -> FaultPlan {
        try FaultSection.parse(ConfigNode.parse(yaml, file: "f.yaml").required("faults", expected: "faults"))
    }

    static func message(_ yaml: String, random: Bool = false) -> String? {
        do {
            let node = try ConfigNode.parse(yaml, file: "f.yaml").required("faults", expected: "faults")
            _ = try FaultSection.parse(node, allowRandom: random)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func theSectionReadsEveryKind() throws {
        let plan = try Self.parse("""
            faults:
              recovery_delay_seconds: 2
              links:
                - {link: host0->host1, bandwidth_factor: 0.25, extra_latency_seconds: 0.001, from_seconds: 1, until_seconds: 3}
                - {link: inter-host, down: true, until_seconds: 0.5}
              stragglers:
                - {host: host2, speed_factor: 0.5}
              host_loss:
                - {host: 1, at_seconds: 4}
            """)
        #expect(plan.recoveryDelay == .seconds(2))
        #expect(plan.links.count == 2 && plan.stragglers.count == 1 && plan.hostLosses.count == 1)
        #expect(plan.links[0].links == .link(LinkID(from: HostID(0), to: HostID(1))))
        #expect(plan.links[0].effect == .degraded(bandwidthFactor: 0.25, extraLatency: .milliseconds(1)))
        #expect(plan.links[0].window == .init(from: SimInstant(nanoseconds: 1_000_000_000), until: SimInstant(nanoseconds: 3_000_000_000)))
        #expect(plan.links[1].links == .allInterHost && plan.links[1].effect == .down)
        #expect(plan.stragglers[0].host == HostID(2) && plan.stragglers[0].field == "faults.stragglers[0]")
        #expect(plan.hostLosses[0].at == SimInstant(nanoseconds: 4_000_000_000))
    }

    @Test(arguments: [
        ("faults: {links: [{link: host0->host1, bandwidth_factor: 0}]}", "faults.links[0].bandwidth_factor", "(0, 1]"),
        ("faults: {links: [{link: host0->host1, bandwidth_factor: 1.5}]}", "faults.links[0].bandwidth_factor", "(0, 1]"),
        ("faults: {links: [{link: host0-host1, bandwidth_factor: 0.5}]}", "faults.links[0].link", "not a link"),
        ("faults: {links: [{link: host0->host1, down: true}]}", "faults.links[0].until_seconds", "needs an end"),
        ("faults: {links: [{link: host0->host1, down: true, until_seconds: 1, bandwidth_factor: 0.5}]}", "faults.links[0].down", "either"),
        ("faults: {links: [{link: host0->host1}]}", "faults.links[0].bandwidth_factor", "missing"),
        ("faults: {links: [{link: host0->host1, bandwidth_factor: 0.5, from_seconds: 2, until_seconds: 1}]}", "faults.links[0].until_seconds", "not after"),
        ("faults: {links: [{link: host0->host1, bandwidth_factor: 0.5, from_seconds: -1}]}", "faults.links[0].from_seconds", "out of range"),
        ("faults: {stragglers: [{host: gpu3, speed_factor: 0.5}]}", "faults.stragglers[0].host", "not a host"),
        ("faults: {stragglers: [{host: 3, speed_factor: -2}]}", "faults.stragglers[0].speed_factor", "(0, 1]"),
        ("faults: {stragglers: [{host: 3}]}", "faults.stragglers[0].speed_factor", "missing"),
        ("faults: {host_loss: [{host: 3}]}", "faults.host_loss[0].at_seconds", "missing"),
        ("faults: {host_loss: [{host: 3, at_seconds: 1, when: phase1}]}", "faults.host_loss[0].when", "unknown field"),
        ("faults: {recovery_delay_seconds: -3}", "faults.recovery_delay_seconds", "out of range"),
        ("faults: {linkz: []}", "faults.linkz", "unknown field"),
        ("faults: [1, 2]", "faults", "expected a mapping"),
        ("faults: {random: {trials: 10, link_failures_per_hour: 1}}", "faults.random", "projections"),
    ])
    func badFaultsNameTheFieldAndWhatWasExpected(yaml: String, field: String, words: String) {
        let m = Self.message(yaml)
        #expect(m?.contains("f.yaml") == true, "\(m ?? "accepted")")
        #expect(m?.contains(field) == true, "\(m ?? "accepted")")
        #expect(m?.contains(words) == true, "\(m ?? "accepted")")
    }

    @Test func randomFaultsAreReadForProjectionsAndChecked() throws {
        #expect(Self.message("faults: {random: {trials: 0, host_failures_per_hour: 1}}", random: true)?.contains("faults.random.trials") == true)
        #expect(Self.message("faults: {random: {trials: 5}}", random: true)?.contains("above 0") == true)
        let node = try ConfigNode.parse("faults: {random: {trials: 5, seed: 9, host_failures_per_hour: 2}}", file: "f.yaml")
        let (_, random) = try FaultSection.parse(node.required("faults", expected: ""), allowRandom: true)
        #expect(random == RandomFaults(trials: 5, seed: 9, hostFailuresPerHour: 2))
    }

    static func config(_ method: MethodKind, faults: FaultPlan? = nil, random: RandomFaults? = nil) -> ProjectionConfig {
        var c = CapacityTests.small(method, context: 4096, hosts: 4)
        c.faults = faults
        c.randomFaults = random
        return c
    }

    @Test func aProjectionWithFaultsKeepsItsFaultFreeFiguresAndAddsTheFaultedOnes() throws {
        let plan = FaultPlan(
            links: [.init(links: .allInterHost, effect: .degraded(bandwidthFactor: 0.05, extraLatency: .zero), window: .init(), field: "faults.links[0]")],
            stragglers: [.init(host: HostID(2), speedFactor: 0.5, window: .init(), field: "faults.stragglers[0]")])
        for method in [MethodKind.global, .star, .ring] {
            let clean = CapacityProjection.project(Self.config(method))
            let faulted = CapacityProjection.project(Self.config(method, faults: plan))
            #expect(faulted.timeToFirstToken == clean.timeToFirstToken, "\(method): fault-free figures changed")
            let f = try #require(faulted.faulted)
            #expect(f.error == nil)
            if method == .global {
                #expect(f.skippedFaults == ["faults.stragglers[0]"])  // global runs on host0 alone
                #expect(f.totalTime == clean.totalTime)
            } else {
                #expect(try #require(f.totalTime) > #require(clean.totalTime), "\(method)")
                #expect(f.criticalResource != nil)
            }
        }
        // The figures survive a sweep shard's row (Codable) and reach CSV and JSON.
        let r = CapacityProjection.project(Self.config(.ring, faults: plan))
        let back = try JSONDecoder().decode(ProjectionResult.self, from: JSONEncoder().encode(r))
        #expect(back.faulted == r.faulted)
        let table = CapacityTable(results: [r])
        #expect(table.csvHeader.contains("faults_total_s"))
        #expect(table.json().contains("\"faulted\""))
        #expect(table.text().contains("TTFT faults"))
        // Without faults the outputs keep their columns.
        #expect(!CapacityTable(results: [CapacityProjection.project(Self.config(.ring))]).csvHeader.contains("faults_total_s"))
    }

    @Test func randomTrialsAreSeededAndSummarised() throws {
        let random = RandomFaults(trials: 6, seed: 3, linkFailuresPerHour: 2e5, linkRepairSeconds: 0.01, hostFailuresPerHour: 1e5)
        let a = CapacityProjection.project(Self.config(.star, random: random))
        let b = CapacityProjection.project(Self.config(.star, random: random))
        let t = try #require(a.faultTrials)
        #expect(a.faultTrials == b.faultTrials)
        #expect(t.trials == 6 && t.trialsWithFaults > 0)
        #expect(t.ttftP50 <= t.ttftP99 && t.ttftP99 >= a.timeToFirstToken!)
        // Samples: within the horizon, the same for every configuration of a cluster size.
        let topo = try Topology(CapacityTests.small(.star).clusterSetup().topology)
        let horizon = SimInstant(nanoseconds: 2_000_000_000)
        let s1 = random.sample(trial: 4, topology: topo, horizon: horizon)
        #expect(s1 == random.sample(trial: 4, topology: topo, horizon: horizon))
        #expect(s1.hostLosses.allSatisfy { $0.at < horizon } && s1.links.allSatisfy { $0.window.from < horizon })
        #expect(s1 != random.sample(trial: 5, topology: topo, horizon: horizon))
    }

    /// `run` with `faults:`: the text, JSON and CSV reports say what the faults did, per method.
    @Test func aScenarioWithFaultsReportsThemInEveryFormat() throws {
        let base = try ScenarioPrepareTests.scenario(methods: "[global, star, ring]", hosts: 2)
        var s = base
        s.faults = FaultPlan(
            links: [.init(links: .allInterHost, effect: .degraded(bandwidthFactor: 0.01, extraLatency: .zero), window: .init(),
                          field: "faults.links[0]")],
            stragglers: [.init(host: HostID(1), speedFactor: 0.5, window: .init(), field: "faults.stragglers[0]")])
        let run = try ScenarioRun.execute(s)
        let clean = try ScenarioRun.execute(base)
        for (r, c) in zip(run.results, clean.results) {
            #expect(r.outcome.generated == c.outcome.generated)
            #expect(r.faultFree?.report.finish == c.outcome.report.finish, "\(r.outcome.name): fault-free column is not the clean run")
        }
        let text = ScenarioReport.text(run)
        #expect(text.contains("faults.stragglers[0]: host1 computes at 50% speed, the whole run"))
        #expect(text.contains("global runs on 1 host(s): faults.stragglers[0] did not apply"))
        let csv = ScenarioReport.csv(run)
        #expect(csv.hasPrefix("scenario,method,plan,hosts,answer,score,time_to_first_token_s,time_per_output_token_s,total_s,"
            + "bytes_moved,peak_memory_per_host_bytes,wall_s,trace,fault_free_time_to_first_token_s,fault_free_total_s,bytes_resent,"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(ScenarioReport.json(run).utf8)) as? [String: Any])
        let star = try #require((json["methods"] as? [[String: Any]])?[1]["faults"] as? [String: Any])
        #expect((star["total_s"] as? Double).map { $0 > (star["total_fault_free_s"] as? Double ?? .infinity) } == true)
        #expect(star["critical_resource"] as? String == "host1")
    }

    /// A fault after the end of some methods' runs happens only in the others (the report says so);
    /// after the end of every run it is refused, naming the field.
    @Test func aFaultAfterTheEndOfARunDoesNotHappenInIt() throws {
        let base = try ScenarioPrepareTests.scenario(methods: "[global, star]", hosts: 2)
        let clean = try ScenarioRun.execute(base)
        let ends = clean.results.map(\.outcome.report.finish)
        let (fast, slow) = (ends.min()!, ends.max()!)
        #expect(fast < slow)
        var s = base
        let between = SimInstant(nanoseconds: (fast.nanoseconds + slow.nanoseconds) / 2)
        s.faults = FaultPlan(hostLosses: [.init(host: HostID(0), at: between, field: "faults.host_loss[0]")], recoveryDelay: .milliseconds(1))
        let run = try ScenarioRun.execute(s)
        let late = run.results.filter { !$0.outcome.report.faults.notHappened.isEmpty }
        #expect(late.count == 1 && late[0].outcome.report.finish == fast)
        #expect(run.results.contains { !$0.outcome.report.faults.recoveries.isEmpty })
        #expect(ScenarioReport.text(run).contains("did not happen — faults.host_loss[0].at_seconds"))
        s.faults.hostLosses[0].at = slow + .milliseconds(1)
        do {
            _ = try ScenarioRun.execute(s)
            Issue.record("a fault after every run was accepted")
        } catch {
            #expect("\(error)".contains("faults.host_loss[0].at_seconds"))
            #expect("\(error)".contains("after the end of every run"))
        }
    }

    @Test func projectRefusesAFaultThatHappensInNoConfiguration() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let late = try dir.write("late.yaml", "faults:\n  host_loss:\n    - {host: 1, at_seconds: 5000}\n")
        var command = try StarSimCommand.parseAsRoot(["project", "--model", "llama-3.1-8b", "--context", "16K", "--hosts", "4",
                                                      "--methods", "star,ring", "--faults", late])
        do { try command.run(); Issue.record("accepted a fault after every run") } catch let f as CommandFailure {
            #expect(f.code == 2)
            #expect(f.message.contains("faults.host_loss[0].at_seconds") && f.message.contains("every configuration"))
        }
        let bad = try dir.write("bad.yaml", "faults:\n  stragglers:\n    - {host: 1, speed_factor: 0}\n")
        command = try StarSimCommand.parseAsRoot(["project", "--faults", bad])
        do { try command.run(); Issue.record("accepted speed_factor 0") } catch let f as CommandFailure {
            #expect(f.code == 2 && f.message.contains("faults.stragglers[0].speed_factor"))
        }
    }

    @Test func theShippedFaultFilesLoad() throws {
        let dir = repositoryRoot + "/scenarios/faults"
        let scenario = try Scenario.load(file: dir + "/passkey-2k-faults.yaml")
        #expect(scenario.faults.links.count == 1 && scenario.faults.stragglers.count == 1 && scenario.faults.hostLosses.count == 1)
        for name in ["link-10pct", "straggler-50pct", "host-lost-phase1", "random-failures"] {
            let (fixed, random) = try FaultSection.load(file: dir + "/\(name).yaml")
            #expect(!fixed.isEmpty || random != nil, "\(name)")
        }
        let sweep = try ProjectionSweep.load(file: repositoryRoot + "/scenarios/projections/llama70b-faults.yaml")
        try sweep.validate()
        #expect(sweep.configs().allSatisfy { $0.faults?.hostLosses.count == 1 })
    }

    @Test func aSweepRefusesFaultsOnHostsItDoesNotHave() throws {
        var sweep = ProjectionSweep(models: [.smolLM2_135M], contexts: [4096], hosts: [2, 4], gpusPerHost: [1], device: "cpu-local")
        sweep.faults = FaultPlan(stragglers: [.init(host: HostID(6), speedFactor: 0.5, window: .init(), field: "faults.stragglers[0]")])
        #expect(throws: StarSimError.self) { try sweep.validate() }
        do { try sweep.validate() } catch { #expect("\(error)".contains("faults.stragglers[0]")) }
        // host3 exists on the 4-host configurations; on the 2-host ones it does not apply.
        sweep.faults = FaultPlan(stragglers: [.init(host: HostID(3), speedFactor: 0.5, window: .init(), field: "faults.stragglers[0]")])
        try sweep.validate()
        sweep.faults = FaultPlan(links: [.init(links: .link(LinkID(from: HostID(1), to: HostID(1))), effect: .down,
                                               window: .init(from: .zero, until: SimInstant(nanoseconds: 10)), field: "faults.links[0]")])
        try sweep.validate()
    }
}
