import ArgumentParser
import Foundation
import StarSim

/// `starsim plan`: the smallest cluster per method meeting a TTFT and/or memory target.
struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find, per method, the smallest clusters meeting --max-ttft and/or --max-memory-per-host.",
        discussion: """
            Searches hosts 1,2,4,…,64 × GPUs per host 1,2,4,8 (global: 1 host). Failing smaller clusters \
            are listed with the reason: OOM (bytes), over the memory target, too slow (projected TTFT), \
            or a context the method cannot split. \
            With --cached, a follow-up prompt over a cached context (ring methods only). \
            Example: starsim plan --model llama-3.1-70b --context 128K --max-ttft 10s
            """)

    @Option(help: "Model name, .gguf or config.json.")
    var model: String = "llama-3.1-8b"
    @Option(parsing: .unconditional, help: "Context length (K = 1024, M = 1024²; 1 to 16M).")
    var context: String
    @OptionGroup var hardware: HardwareOptions
    @Option(help: "Methods, comma-separated (default global,star,ring,ring-zigzag; with --cached ring-zigzag,ring-zigzag-passq,allgather-zigzag).")
    var methods: String?
    @Option(help: "A persistent-KV prefill: this much of the context is in the hosts' KV cache from an earlier turn (tokens such as 120K, or a share such as 90%); ring methods only.")
    var cached: String?
    @Option(name: .customLong("max-ttft"), parsing: .unconditional, help: "Target time to first token, e.g. 2s, 500ms.")
    var maxTTFT: String?
    @Option(name: .customLong("max-memory-per-host"), parsing: .unconditional, help: "Target peak memory per host, e.g. 160GB.")
    var maxMemoryPerHost: String?
    @OptionGroup var output: FormatOptions
    @OptionGroup var sharding: ShardOptions
    @Flag(help: "Replace existing files in --out even when StarSim did not write them.")
    var force = false

    func run() throws {
        do {
            var planner = CapacityPlanner(
                model: try CapacityModels.resolve(model), contextLength: try TokenCount.parse(context, field: "--context"),
                device: hardware.device, intraHostLink: hardware.intraLink, interHostLink: hardware.interLink,
                maxTTFT: try maxTTFT.map { t throws(StarSimError) in try CapacityUnits.seconds(t, field: "--max-ttft") },
                maxMemoryPerHost: try maxMemoryPerHost.map { m throws(StarSimError) in
                    try CapacityUnits.bytes(m, field: "--max-memory-per-host")
                })
            planner.combine = try hardware.parallelCombine()
            planner.cached = try cached.map { c throws(StarSimError) in try CachedPrefix.parse(c) }
            let names = methods ?? (cached == nil ? "global,star,ring,ring-zigzag" : PatternComparison.defaultCachedPatterns)
            planner.methods = try names.split(separator: ",").map { m throws(StarSimError) in
                try MethodKind.parse(String(m), field: "--methods")
            }
            planner.profileDirectory = hardware.profiles
            try ProfileCatalog(userDirectory: hardware.profiles).checkUserDirectory()
            if let shard = try sharding.spec() {
                try sharding.run(try planner.searchConfigs(), shard: shard, plan: planner, serial: false, trace: nil,
                                 format: output.format, force: force)
                return
            }
            let progress = ProgressOutput()
            let plans = try planner.plan { done, total in
                progress.update("projecting \(done)/\(total)", done: done, total: total)
            }
            output.print(planner, plans)
        } catch {
            if let failure = error as? CommandFailure { throw failure }
            try fail("\(error)")
        }
    }
}
