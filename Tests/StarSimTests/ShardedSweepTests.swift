import ConfigFiles
import Foundation
import StarSim
import Testing
import TestSupport

/// Sweeps run as shards (`--shard I/N --out DIR`) and merged (`starsim merge DIR`): the slicing, the
/// files, resuming, the merge's checks, and that the merged result is the unsharded one, byte for byte.
@Suite struct ShardedSweepTests {
    /// 16 small SmolLM2 projections (a second or two in all).
    static let sweep = ProjectionSweep(
        models: [.smolLM2_135M], contexts: [2048, 4096], hosts: [2, 4], gpusPerHost: [1, 2], methods: [.star, .ring],
        generate: 2, queryLength: 16, granularity: .coarse)

    static func outputs(_ results: [ProjectionResult]) -> [String] {
        let t = CapacityTable(results: results)
        return [t.text(), t.csv(), t.json()]
    }

    @Test func shardSpecsFromTheCommandLineAndTheBatchSystem() throws {
        #expect(try ShardSpec.parse("2/4", environment: [:]) == ShardSpec(index: 2, count: 4))
        for bad in ["4/4", "-1/4", "a/b", "1/0", "1/200000", "3", "", "1/2/3"] {
            #expect(throws: StarSimError.self, "\(bad)") { _ = try ShardSpec.parse(bad, environment: [:]) }
        }
        do { _ = try ShardSpec.parse("4/4", environment: [:]) } catch { #expect("\(error)".contains("--shard") && "\(error)".contains("0...3")) }
        // Slurm: the task id counts from the array's first index.
        let slurm = ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "3"]
        #expect(try ShardSpec.parse("auto", environment: slurm) == ShardSpec(index: 1, count: 3))
        #expect(throws: StarSimError.self) { _ = try ShardSpec.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "3"]) }
        // Kubernetes Indexed Jobs set only the index: the count is given.
        #expect(try ShardSpec.parse("auto/4", environment: ["JOB_COMPLETION_INDEX": "3"]) == ShardSpec(index: 3, count: 4))
        do {
            _ = try ShardSpec.parse("auto", environment: ["JOB_COMPLETION_INDEX": "3"])
            Issue.record("auto without a count was accepted for an Indexed Job")
        } catch { #expect("\(error)".contains("auto/N")) }
        do {
            _ = try ShardSpec.parse("auto", environment: [:])
            Issue.record("auto outside a batch system was accepted")
        } catch { #expect("\(error)".contains("SLURM_ARRAY_TASK_ID") && "\(error)".contains("JOB_COMPLETION_INDEX")) }
        #expect(throws: StarSimError.self) { _ = try ShardSpec.parse("auto", environment: ["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "3"]) }
    }

    /// Every configuration lands in exactly one shard; the slices are balanced by estimated cost (the
    /// longest-processing-time bound: no shard above the mean plus the largest configuration) and are
    /// the same on every call.
    @Test func shardsCoverTheSweepOnceAndBalanceItsCost() {
        var sweep = Self.sweep
        sweep.models = [.llama31_8B, .llama31_70B]
        sweep.contexts = [16384, 131072, 1 << 20]
        sweep.hosts = [1, 4, 16]
        sweep.methods = [.global, .star, .ring]
        let configs = sweep.configs()
        for n in [1, 2, 3, 7, configs.count, configs.count + 5] {
            let plan = ShardPlan(configs: configs, shardCount: n)
            #expect(plan.shards.count == n)
            #expect(plan.shards.flatMap { $0 }.sorted() == Array(configs.indices))
            let costs = configs.map { max(1, $0.estimatedEvents) }
            let mean = Double(costs.reduce(0, +)) / Double(n)
            #expect(plan.costs.allSatisfy { Double($0) <= mean + Double(costs.max()!) }, "\(n) shards: \(plan.costs)")
            #expect(ShardPlan(configs: configs, shardCount: n).shards == plan.shards)
        }
        // Cost, not count: a 1M-token ring on 16 hosts costs more than twenty 16K runs together,
        // so it gets a shard to itself.
        let heavy = ProjectionConfig(model: .llama31_70B, method: .ring, contextLength: 1 << 20, hosts: 16, gpusPerHost: 4)
        let light = (0..<20).map { _ in ProjectionConfig(model: .llama31_8B, method: .global, contextLength: 16384, hosts: 1, granularity: .coarse) }
        #expect(heavy.estimatedEvents > light.map(\.estimatedEvents).reduce(0, +))
        let two = ShardPlan(configs: light + [heavy], shardCount: 2)
        #expect(two.shards.contains([20]) && two.shards.contains(Array(0..<20)))
        // The hash names the configurations, not how they were written.
        #expect(ShardPlan.hash(configs) == ShardPlan(configs: configs, shardCount: 3).sweepHash)
        #expect(ShardPlan.hash(Array(configs.dropLast())) != ShardPlan.hash(configs))
        #expect(ShardPlan.hash(configs).count == 16)
    }

    @Test func mergedShardsEqualTheUnshardedRunByteForByte() throws {
        let configs = Self.sweep.configs()
        let single = CapacityProjection.sweep(configs, parallel: true)
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let out = OutputDirectory(dir.path + "/sweep", option: "--out")
        for i in [2, 0, 1] {
            let s = try ShardRun.run(configs, shard: ShardSpec(index: i, count: 3), directory: out)
            #expect(s.ran == s.rows && s.resumed == 0 && s.configurations == configs.count)
        }
        let merged = try SweepMerge.load(directory: out.path)
        #expect(merged.shards == 3 && merged.results.count == configs.count)
        #expect(Self.outputs(merged.results) == Self.outputs(single))
        // Every row carries its full configuration and results, one JSON object per line.
        let rows = try String(contentsOfFile: out.path + "/" + ShardFiles.rowsName(ShardSpec(index: 0, count: 3)), encoding: .utf8)
        let first = try #require(rows.split(separator: "\n").first)
        #expect(first.hasPrefix("{\"generator\":\"starsim\",\"index\":"))
        #expect(first.contains("\"contextLength\":") && first.contains("\"timeToFirstToken\":"))
    }

    /// A shard stopped part-way (a torn last line, rows missing) resumes: it keeps the complete rows,
    /// redoes the rest, and the merge is unchanged.
    @Test func aShardResumesAfterACrash() throws {
        let configs = Self.sweep.configs()
        let single = CapacityProjection.sweep(configs, parallel: false)
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let out = OutputDirectory(dir.path, option: "--out")
        let shard = ShardSpec(index: 0, count: 2), other = ShardSpec(index: 1, count: 2)
        let full = try ShardRun.run(configs, shard: shard, directory: out, parallel: false)
        _ = try ShardRun.run(configs, shard: other, directory: out)
        // Cut the file after its second row, and leave half of the third as a torn line.
        let path = dir.path + "/" + ShardFiles.rowsName(shard)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        try (lines[0] + "\n" + lines[1] + "\n" + lines[2].prefix(lines[2].count / 2)).write(toFile: path, atomically: true, encoding: .utf8)
        // The manifest still says complete: the merge must notice the missing rows.
        #expect(throws: StarSimError.self) { _ = try SweepMerge.load(directory: dir.path) }
        let again = try ShardRun.run(configs, shard: shard, directory: out)
        #expect(again.resumed == 2 && again.ran == full.rows - 2 && again.repairedBytes == lines[2].count / 2)
        #expect(Self.outputs(try SweepMerge.load(directory: dir.path).results) == Self.outputs(single))
        // A re-run of a complete shard projects nothing.
        let third = try ShardRun.run(configs, shard: shard, directory: out)
        #expect(third.ran == 0 && third.resumed == full.rows)
    }

    @Test func mergeNamesMissingAndPartialShardsAndRefusesMixedSweeps() throws {
        let configs = Self.sweep.configs()
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let out = OutputDirectory(dir.path, option: "--out")
        func mergeError() -> String {
            do { _ = try SweepMerge.load(directory: dir.path); return "" } catch { return "\(error)" }
        }
        #expect(mergeError().contains("holds no sweep shards"))
        _ = try ShardRun.run(configs, shard: ShardSpec(index: 1, count: 4), directory: out)
        let missing = mergeError()
        #expect(missing.contains("3 of 4 shards missing") && missing.contains("shard 0, 2, 3"), "\(missing)")
        for i in [0, 2, 3] { _ = try ShardRun.run(configs, shard: ShardSpec(index: i, count: 4), directory: out) }
        #expect(mergeError().isEmpty)
        // An unfinished shard (its manifest says so) is named, with how to finish it.
        let manifestPath = dir.path + "/" + ShardFiles.manifestName(ShardSpec(index: 2, count: 4))
        let manifest = try String(contentsOfFile: manifestPath, encoding: .utf8)
        try manifest.replacingOccurrences(of: "\"complete\":true", with: "\"complete\":false")
            .write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let partial = mergeError()
        #expect(partial.contains("partial") && partial.contains("shard 2") && partial.contains("--shard I/4"), "\(partial)")
        try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        // Another sweep may not write into this directory, nor another shard count.
        var otherSweep = Self.sweep
        otherSweep.generate = 3
        do {
            _ = try ShardRun.run(otherSweep.configs(), shard: ShardSpec(index: 0, count: 4), directory: out)
            Issue.record("a shard of another sweep wrote into the directory")
        } catch { #expect("\(error)".contains("another sweep")) }
        #expect(throws: StarSimError.self) { _ = try ShardRun.run(configs, shard: ShardSpec(index: 0, count: 2), directory: out) }
        // A corrupt row in the middle is named by file and line; nothing is silently dropped.
        let rowsPath = dir.path + "/" + ShardFiles.rowsName(ShardSpec(index: 3, count: 4))
        var rows = try String(contentsOfFile: rowsPath, encoding: .utf8).split(separator: "\n").map(String.init)
        rows[0] = "{\"generator\":\"starsim\",\"index\":\"x\"}"
        try (rows.joined(separator: "\n") + "\n").write(toFile: rowsPath, atomically: true, encoding: .utf8)
        let corrupt = mergeError()
        #expect(corrupt.contains(rowsPath + ":1"), "\(corrupt)")
        // A rows file StarSim did not write is never appended to.
        let foreign = try TemporaryDirectory()
        defer { foreign.cleanup() }
        try foreign.write(ShardFiles.rowsName(ShardSpec(index: 0, count: 2)), "my notes\n")
        #expect(throws: StarSimError.self) {
            _ = try ShardRun.run(configs, shard: ShardSpec(index: 0, count: 2), directory: OutputDirectory(foreign.path, option: "--out"))
        }
        #expect(try String(contentsOfFile: foreign.path + "/" + ShardFiles.rowsName(ShardSpec(index: 0, count: 2)), encoding: .utf8) == "my notes\n")
    }

    /// `plan --shard`: the planner's search as a sweep; the merge prints the same plan.
    @Test func aPlanRunsAsShardsAndMergesToTheSamePlan() throws {
        var planner = CapacityPlanner(model: .llama31_8B, contextLength: 65536, maxTTFT: 5)
        planner.methods = [.global, .star, .ring]
        planner.hostCounts = [1, 2, 4]
        planner.gpuCounts = [1, 2]
        let expected = planner.text(try planner.plan())
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let configs = try planner.searchConfigs()
        for i in 0..<2 {
            _ = try ShardRun.run(configs, shard: ShardSpec(index: i, count: 2), directory: OutputDirectory(dir.path, option: "--out"), plan: planner)
        }
        let merged = try SweepMerge.load(directory: dir.path)
        let plan = try #require(merged.plan)
        #expect(plan.text(plan.plans(from: merged.results)) == expected)
    }

    /// The Kubernetes Indexed Job we ship has the shape sharding needs (no cluster needed to check it).
    @Test func theKubernetesJobIsAnIndexedJobWhoseShardCountMatchesItsCompletions() throws {
        let job = try ConfigNode.load(file: repositoryRoot + "/scripts/k8s/sweep-job.yaml")
        #expect(try job.string("kind") == "Job" && job.string("apiVersion") == "batch/v1")
        let spec = try #require(job.optional("spec"))
        #expect(try spec.string("completionMode") == "Indexed")
        let completions = try spec.int("completions")
        #expect(try spec.int("parallelism") <= completions)
        let container = try #require(try spec.optional("template")?.optional("spec")?.optional("containers")?.asList().first)
        let command = try #require(container.optional("command")).asList().map { try $0.asString() }
        let shard = try #require(command.firstIndex(of: "--shard"))
        #expect(command[shard + 1] == "auto/\(completions)")
        #expect(command.contains("--out") && command.contains("project"))
        #expect(try ShardSpec.parse(command[shard + 1], environment: ["JOB_COMPLETION_INDEX": "\(completions - 1)"])
            == ShardSpec(index: completions - 1, count: completions))
    }
}
