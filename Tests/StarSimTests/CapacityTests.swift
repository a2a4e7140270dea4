import Cluster
import DistributedAttention
import Foundation
import Llama
import Projection
import StarSim
import Testing
import TestSupport

/// `starsim project` / `paper` / `plan`: projections through the same runner as real runs, output
/// formats, parallel sweeps, planning and input errors.
@Suite struct CapacityTests {
    static func small(_ method: MethodKind, context: Int = 2048, hosts: Int = 4) -> ProjectionConfig {
        ProjectionConfig(model: .smolLM2_135M, method: method, contextLength: context, queryLength: 16, hosts: hosts,
                         gpusPerHost: 1, generateTokens: 3)
    }

    /// (from, to, bytes, label, phase) of every transfer, in log order. The sampled token's value in
    /// `token(#n = id, …)` labels is blanked: a projection has no logits, so it sends id −1.
    static func transfers(_ log: RunLog) -> [String] {
        log.records.compactMap { r -> String? in
            if case .transfer(let message) = r {
                let l = message.label.replacingOccurrences(of: #"^token\(#(\d+) = -?\d+,"#, with: "token(#$1 = ?,",
                                                   options: .regularExpression)
                return "\(message.from)->\(message.to) \(message.bytes) \(l) \(message.phase)"
            }
            return nil
        }
    }

    /// A projection and a real run (random tiny Llama, real tensors) of the same plan send the same
    /// messages: same endpoints, sizes, labels, phases and order.
    @Test(arguments: ["star", "ring", "ring-zigzag"])
    func projectionSendsTheSameMessagesAsARealRun(_ name: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-cap-\(getpid())-\(name).gguf").path
        try TinyLlama.write(config: TinyLlama.testConfig, seed: 5, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let session = try ModelSession(path: path)
        let context = 96, query = 5, steps = 3
        var rng = SeededGenerator(seed: 3)
        let ids = (0..<(context + query)).map { _ in Int32.random(in: 3...258, using: &rng) }
        let prompt = ModelSession.SplitPrompt(context: Array(ids[..<context]), query: Array(ids[context...]))
        let method: AttentionMethod
        switch name {
        case "star": method = .star(try StarPlan(contextLength: context, queryLength: query, blockSize: 24, anchorSize: 24, hosts: 4))
        case "ring": method = .ring(try RingPlan(contextLength: context, queryLength: query, hosts: 4))
        default: method = .ring(try RingPlan(contextLength: context, queryLength: query, hosts: 4, partition: .zigzag))
        }
        let setup = try ClusterSetup.named(hosts: 4, gpusPerHost: 1, device: "cpu-local", intraHostLink: "nvlink-a100",
                                           interHostLink: "ib-hdr", shape: .fullyConnected)
        let real = try session.execute(method, name: name, prompt: prompt, setup: setup, maxNewTokens: steps)
        let spec = ModelSpec(name: "tiny", shape: session.shape, tiedEmbeddings: true)
        let projected = try ProjectedExecution.run(model: spec, method: method, name: name, setup: setup,
                                                   generateTokens: real.sampleEnds.count)
        let a = Self.transfers(real.report.log), b = Self.transfers(projected.report.log)
        #expect(!a.isEmpty)
        #expect(a == b)
        #expect(real.sampleEnds.count == projected.sampleEnds.count)
    }

    @Test func csvHasOneParsableRowPerConfiguration() {
        let results = CapacityProjection.sweep(MethodKind.standard.map { Self.small($0) }, parallel: false)
        let csv = CapacityTable(results: results).csv()
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines.count == 1 + results.count)
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let ttft = header.firstIndex(of: "ttft_s")!, method = header.firstIndex(of: "method")!
        for (line, r) in zip(lines.dropFirst(), results) {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(fields.count == header.count)
            #expect(fields[method] == r.config.method.rawValue)
            #expect(Double(fields[ttft]) == r.timeToFirstToken)
            #expect(r.timeToFirstToken ?? 0 > 0)
        }
        // Speedup of a method over itself is exactly 1.
        let star = header.firstIndex(of: "speedup_vs_star")!
        #expect(lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }[1][star] == "1.0")
    }

    @Test func jsonParsesWithPerHostBytes() throws {
        let results = CapacityProjection.sweep([Self.small(.star), Self.small(.ring)], parallel: false)
        let json = CapacityTable(results: results).json()
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(rows.count == 2)
        #expect(rows[0]["method"] as? String == "star")
        #expect(rows[1]["ttft_seconds"] as? Double == results[1].timeToFirstToken)
        let hostBytes = try #require(rows[1]["host_bytes"] as? [[String: Any]])
        let ringContext = hostBytes.filter { $0["phase"] as? String == "context" }.compactMap { $0["bytes"] as? Int }
        // Ring on 4 hosts: every host passes K,V of its 512-token block 3 times per layer (bf16 shapes).
        let shape = ModelShape.smolLM2_135M
        #expect(ringContext == Array(repeating: 3 * 512 * shape.layers * shape.kvBytesPerTokenPerLayer, count: 4))
    }

    @Test func parallelSweepEqualsSerial() {
        var configs: [ProjectionConfig] = []
        for L in [1024, 2048] { for m in MethodKind.standard { configs.append(Self.small(m, context: L)) } }
        let p = CapacityProjection.sweep(configs, parallel: true)
        let s = CapacityProjection.sweep(configs, parallel: false)
        #expect(p.map(\.config) == configs)
        #expect(CapacityTable(results: p).csv() == CapacityTable(results: s).csv())
    }

    @Test func planFindsOOMFor70BAt128KOnOneA100AndAFeasibleClusterAbove() throws {
        var planner = CapacityPlanner(model: .llama31_70B, contextLength: 131072)
        planner.methods = [.global, .star]
        planner.hostCounts = [1, 2, 4, 8]
        planner.gpuCounts = [1, 2, 4]
        let plans = try planner.plan()
        let global = try #require(plans.first { $0.method == .global })
        let oneByOne = try #require(global.rejected.first { $0.hosts == 1 && $0.gpusPerHost == 1 })
        #expect(oneByOne.rejection?.hasPrefix("OOM: out of memory") == true)
        let star = try #require(plans.first { $0.method == .star })
        let best = try #require(star.smallest.first)
        #expect(best.gpus > 1)
        #expect(best.result.peakMemoryPerHost <= best.result.hostCapacity)
        #expect(star.rejected.contains { $0.hosts == 1 && $0.gpusPerHost == 1 && $0.rejection!.hasPrefix("OOM") })
        #expect(planner.text(plans).contains("smallest:"))
        // --csv and --json: one row per reported candidate, the same rows.
        let reported = plans.reduce(0) { $0 + $1.smallest.count + $1.rejected.count }
        let csv = planner.csv(plans).split(separator: "\n")
        #expect(csv.first == "method,hosts,gpus_per_host,gpus,verdict,reason,ttft_s,peak_memory_per_host_bytes")
        #expect(csv.count == 1 + reported)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(planner.json(plans).utf8)) as? [[String: Any]])
        #expect(rows.count == reported)
        #expect(rows.filter { $0["verdict"] as? String == "smallest" }.count == plans.reduce(0) { $0 + $1.smallest.count })
        #expect(rows.contains { ($0["reason"] as? String)?.hasPrefix("OOM") == true && $0["method"] as? String == "global" })
    }

    /// `plan --cached`: ring candidates carry the cached prefix and a follow-up prompt needs a smaller
    /// cluster than the fresh prefill for the same TTFT target; other methods are refused naming the flag.
    @Test func planWithACachedPrefix() throws {
        var planner = CapacityPlanner(model: .llama31_8B, contextLength: 131072, device: "h100-sxm",
                                      intraHostLink: "nvlink-h100", interHostLink: "ib-ndr", maxTTFT: 2)
        planner.methods = [.ringZigzag, .ringZigzagPassQ]
        planner.hostCounts = [1, 2, 4, 8]
        planner.gpuCounts = [8]
        let fresh = try planner.plan()
        planner.cached = .share(0.95)
        #expect(try planner.searchConfigs().allSatisfy { $0.cachedLength == 124518 })
        let followUp = try planner.plan()
        for m in planner.methods {
            let f = try #require(fresh.first { $0.method == m }), c = try #require(followUp.first { $0.method == m })
            let cachedBest = try #require(c.smallest.first, "\(m.rawValue) with 95% cached meets 2 s nowhere")
            #expect(cachedBest.gpus <= (f.smallest.first?.gpus ?? .max), "\(m.rawValue)")
            #expect(cachedBest.result.timeToFirstToken! < 2)
        }
        #expect(planner.text(followUp).contains("(a follow-up: 124518 of them cached)"))
        planner.methods = [.star]
        #expect { try planner.searchConfigs() } throws: { ($0 as? StarSimError)?.description.contains("--cached") == true }
    }

    @Test func paperCommandComparesEveryCell() throws {
        // Tiny stand-ins for the paper files keep the test fast; the real files are parsed too.
        for f in ["llama8b-1node", "llama8b-multinode", "llama70b-1node", "llama70b-multinode", "modern-h100"] {
            _ = try ProjectionSweep.load(file: repositoryRoot + "/scenarios/paper/\(f).yaml")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-paper-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/p.yaml"
        try """
            model: llama-3.1-8b
            methods: [global, star, ring]
            device: a100-80gb
            generate: 1
            points:
              - {context: 16K, hosts: 4, gpus_per_host: 2, block: 4K}
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let report = try PaperComparison.compare(files: [file])
        #expect(report.table6.count == 12 && report.speedups.count == 11)
        let text = PaperComparison.text(report)
        #expect(text.contains("error"))
        let cell = try #require(report.table6.first { $0.row == "16K" && $0.column == "star" })
        #expect(cell.paper == 9 && cell.projected != nil && cell.error != nil)
        // Cells whose setup is absent say so instead of a number.
        #expect(report.table6.first { $0.row == "64K" }?.errorText == "projection not in the scenario files")
        for c in report.table6 + report.speedups { #expect(!c.errorText.isEmpty) }
        // Every cell says whether the fit saw it: 8 fitted (8B star/ring 16K-128K), the 4 speedups
        // computed from them, 4 vanilla cells that no fitted parameter touches, 7 held out.
        let all = report.table6 + report.speedups
        #expect(all.filter { $0.role == .fitted }.count == 8 && all.filter { $0.role == .derived }.count == 4)
        #expect(all.filter { $0.role == .independent }.count == 4 && all.filter { $0.role == .heldOut }.count == 7)
        #expect(all.filter { $0.role == .fitted }.allSatisfy { ["star", "ring"].contains($0.column) && !$0.row.contains("70b") })
        #expect(report.speedups.filter { $0.row.hasPrefix("llama-3.1-70b") || $0.row.hasSuffix("256K") || $0.row.hasSuffix("512K")
            || $0.row.hasSuffix("1M") }.allSatisfy { $0.role == .heldOut })
        #expect(text.contains("held-out") && text.contains("fitted") && PaperComparison.summary(report).contains("held-out:"))
        #expect(PaperComparison.csv(report).split(separator: "\n").dropFirst().allSatisfy { $0.hasSuffix(",fitted") || $0.hasSuffix(",derived")
            || $0.hasSuffix(",held-out") || $0.hasSuffix(",independent") })
        // --json: the same cells, every one with the same keys (null where absent).
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(PaperComparison.json(report).utf8)) as? [String: Any])
        let cells = try #require(doc["cells"] as? [[String: Any]])
        #expect(cells.count == all.count)
        #expect(cells.allSatisfy { Set($0.keys) == ["table", "row", "column", "paper", "projected", "projected_note", "error", "fit"] })
        let json16K = try #require(cells.first { $0["table"] as? String == "table6" && $0["row"] as? String == "16K" && $0["column"] as? String == "star" })
        #expect(json16K["projected"] as? Double == cell.projected && json16K["paper"] as? Double == 9)
    }

    /// Star and Ring on the paper's 8B 16K shape (4 hosts × 2 GPUs, 4K blocks) with built-in
    /// profiles and 3 sampled tokens: small enough for many projections in one test.
    static func paperShaped16K() -> (star: ProjectionConfig, ring: ProjectionConfig) {
        let star = ProjectionConfig(model: .llama31_8B, method: .star, contextLength: 16384, queryLength: 64, hosts: 4,
                                    gpusPerHost: 2, interHostLink: "nvlink-a100", blockSize: 4096, generateTokens: 3)
        var ring = star
        ring.method = .ring
        ring.blockSize = nil
        return (star, ring)
    }

    /// The fit's objective replaces exactly the two fitted parameters: Star time rises with the
    /// message overhead and ignores the ring efficiency; Ring time falls as the efficiency rises.
    @Test func paperFitVariesOnlyItsParameters() throws {
        let (star, ring) = Self.paperShaped16K()
        let s0 = try PaperComparison.projectedTotal(star, messageOverheadSeconds: 0, ringAttentionEfficiency: 1)
        let s1 = try PaperComparison.projectedTotal(star, messageOverheadSeconds: 1e-3, ringAttentionEfficiency: 1)
        let s1r = try PaperComparison.projectedTotal(star, messageOverheadSeconds: 1e-3, ringAttentionEfficiency: 0.2)
        #expect(s1 > s0 && s1r == s1)
        // Unchanged parameters reproduce the plain projection.
        #expect(s0 == CapacityProjection.project(star).totalTime)
        let r1 = try PaperComparison.projectedTotal(ring, messageOverheadSeconds: 0, ringAttentionEfficiency: 1)
        let r02 = try PaperComparison.projectedTotal(ring, messageOverheadSeconds: 0, ringAttentionEfficiency: 0.2)
        #expect(r02 > r1 && r1 == CapacityProjection.project(ring).totalTime)
    }

    /// `starsim paper --implied` inverts the projection: a ring total produced at a known ring-step
    /// efficiency (0.3) gives that efficiency back, as a ring time or as a speedup over Star; a ring
    /// total below what flash-speed steps reach is reported as needing more than 1.
    @Test func impliedRingEfficiencyInvertsTheProjection() throws {
        let (star, ring) = Self.paperShaped16K()
        let known = try PaperComparison.projectedTotal(ring, messageOverheadSeconds: 0, ringAttentionEfficiency: 0.3)
        let asTime = PaperComparison.impliedRingEfficiency(ring, star: nil, paper: known)
        let r1 = try #require(asTime.efficiency)
        #expect(abs(r1 / 0.3 - 1) < 0.002 && asTime.target == known, "\(asTime)")
        let starTotal = try PaperComparison.projectedTotal(star, messageOverheadSeconds: 0, ringAttentionEfficiency: 1)
        let asSpeedup = PaperComparison.impliedRingEfficiency(ring, star: star, paper: known / starTotal)
        let r2 = try #require(asSpeedup.efficiency)
        #expect(abs(r2 / 0.3 - 1) < 0.002, "\(asSpeedup)")
        let flash = try PaperComparison.projectedTotal(ring, messageOverheadSeconds: 0, ringAttentionEfficiency: 1)
        let tooFast = PaperComparison.impliedRingEfficiency(ring, star: nil, paper: flash * 0.9)
        #expect(tooFast.efficiency == nil && tooFast.note?.hasPrefix("> 1") == true, "\(tooFast)")
        // The three outputs carry the same cells; a missing efficiency is empty / null, with its note.
        let cells = [asTime, tooFast].enumerated().map { i, r in
            PaperComparison.ImpliedRingEfficiency(row: "ring \(i)", column: "ring", paper: r.target, targetRingSeconds: r.target,
                                                  efficiency: r.efficiency, note: r.note, role: .fitted, profileEfficiency: r.profile)
        }
        let csv = PaperComparison.csv(cells).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(csv[0] == "cell,column,paper,target_ring_seconds,implied_efficiency,note,fit" && csv.count == 4)
        #expect(csv[2].contains(",,") && csv[2].contains("> 1"))
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(PaperComparison.json(cells).utf8)) as? [String: Any])
        let rows = try #require(doc["cells"] as? [[String: Any]])
        let back = try #require(rows.first?["implied_efficiency"] as? Double)
        #expect(rows.count == 2 && rows[1]["implied_efficiency"] is NSNull && abs(back / r1 - 1) < 1e-9)
        #expect(asTime.profile == 1)
        #expect(PaperComparison.text(cells).contains("ring 1") && PaperComparison.text(cells).contains("the profile's fitted value: 1"))
    }

    @Test func badInputMessages() throws {
        #expect(throws: StarSimError.self) { try CapacityModels.resolve("llama-9b") }
        do { _ = try CapacityModels.resolve("llama-9b"); Issue.record("unknown model accepted") } catch {
            #expect(error.description == "model: unknown model 'llama-9b'; known models: smollm2-135m, llama-3.1-8b, llama-3.1-70b, llama-3.1-405b")
        }
        do { _ = try TokenCount.parse("12Q", field: "--context"); Issue.record("bad count accepted") } catch {
            #expect(error.description == "--context: '12Q' is invalid; expected a positive token count such as 2048, 16K or 1M (K = 1024, M = 1024²)")
        }
        var zero = Self.small(.star)
        zero.hosts = 0
        do { _ = try zero.attentionMethod(); Issue.record("zero hosts accepted") } catch { #expect(error.description == "hosts: '0' is invalid; expected at least 1 host") }
        var tooMany = Self.small(.star, context: 2048, hosts: 8)
        tooMany.blockSize = 1024
        do { _ = try tooMany.attentionMethod(); Issue.record("8 hosts with 2 blocks must fail") } catch {
            #expect(error.description == "star cannot split 2K tokens over 8 hosts: StarPlan.hosts = 8 is invalid: expected at most the number of blocks (2 = ⌈2048/1024⌉); every host needs a block")
        }
        var device = Self.small(.ring)
        device.device = "h900"
        do { _ = try device.clusterSetup(); Issue.record("unknown device accepted") } catch {
            #expect(error.description == "unknown device 'h900'; known devices: a100-80gb, h100-sxm, h200, cpu-local")
        }
        do { _ = try MethodKind.parse("stripe"); Issue.record("unknown method accepted") } catch {
            #expect(error.description == "methods: 'stripe' is invalid; expected one of global, star, star-noanchor, star-prev, ring, ring-zigzag, ring-striped, ring-passq, ring-zigzag-passq, ring-striped-passq, ulysses, usp, apb, allgather, allgather-zigzag, allgather-striped")
        }
        // A sweep with an impossible split is rejected before any projection.
        let sweep = ProjectionSweep(models: [.smolLM2_135M], contexts: [4], hosts: [4], gpusPerHost: [1], methods: [.ringZigzag])
        #expect(throws: StarSimError.self) { try sweep.validate() }
    }

    @Test func sweepFileIsStrict() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-sweep-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/s.yaml"
        try "model: smollm2-135m\ncontext: [2K]\nhostz: [4]\n".write(toFile: file, atomically: true, encoding: .utf8)
        do { _ = try ProjectionSweep.load(file: file); Issue.record("unknown field accepted") } catch {
            #expect(error.description.contains("hostz"))
            #expect(error.description.contains("unknown field"))
        }
        try "model: smollm2-135m\ncontext: [2K, 4K]\nhosts: [2, 4]\ngpus_per_host: 1\nmethods: [star, ring]\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let s = try ProjectionSweep.load(file: file)
        #expect(s.configs().count == 2 * 2 * 2)
        #expect(s.configs().map(\.contextLength) == [2048, 2048, 2048, 2048, 4096, 4096, 4096, 4096])
        for f in ["llama8b-a100", "llama70b-1m", "smollm2-small"] {
            _ = try ProjectionSweep.load(file: repositoryRoot + "/scenarios/projections/\(f).yaml")
        }
    }

    @Test func outOfMemoryIsReportedNotProjected() {
        let r = CapacityProjection.project(ProjectionConfig(
            model: .llama31_70B, method: .global, contextLength: 131072, hosts: 1, gpusPerHost: 1))
        #expect(r.statusText == "OOM")
        #expect(r.timeToFirstToken == nil && r.totalTime == nil)
        #expect(r.message?.contains("capacity 80000000000 bytes") == true)
        let text = CapacityTable(results: [r]).text()
        #expect(text.contains("OOM — out of memory"))
    }

    @Test func defaultBlockFollowsThePaper() {
        #expect(ProjectionConfig.defaultBlock(contextLength: 131072, hosts: 4) == 32768)
        #expect(ProjectionConfig.defaultBlock(contextLength: 16384, hosts: 4) == 4096)
        #expect(ProjectionConfig.defaultBlock(contextLength: 131072, hosts: 8) == 16384)
        #expect(ProjectionConfig.defaultBlock(contextLength: 1 << 20, hosts: 16) == 32768)
    }
}
