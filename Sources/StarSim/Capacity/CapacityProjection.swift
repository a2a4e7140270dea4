import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// Token counts written as `16K` (16384), `1M` (1048576) or plain integers.
public enum TokenCount {
    /// Parses `2048`, `2K`, `128K`, `1M` (binary multiples: K = 1024, M = 1024²).
    /// - Throws: ``StarSimError`` naming `field`.
    public static func parse(_ text: String, field: String) throws(StarSimError) -> Int {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        var multiplier = 1
        var digits = Substring(t)
        if t.hasSuffix("K") { multiplier = 1024; digits = t.dropLast() }
        else if t.hasSuffix("M") { multiplier = 1024 * 1024; digits = t.dropLast() }
        guard let n = Int(digits), n > 0 else {
            throw .invalid(field, text, "a positive token count such as 2048, 16K or 1M (K = 1024, M = 1024²)")
        }
        return n * multiplier
    }

    /// `16384` → `16K`, `1048576` → `1M`, otherwise the number.
    public static func format(_ n: Int) -> String {
        if n >= 1024 * 1024, n % (1024 * 1024) == 0 { return "\(n / (1024 * 1024))M" }
        if n >= 1024, n % 1024 == 0 { return "\(n / 1024)K" }
        return "\(n)"
    }

    /// Parses a comma-separated list.
    public static func parseList(_ text: String, field: String) throws(StarSimError) -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",") { out.append(try parse(String(part), field: field)) }
        guard !out.isEmpty else { throw .invalid(field, text, "a comma-separated list of token counts") }
        return out
    }
}

/// Resolves `--model`: a built-in name, a `.gguf` file or a Hugging Face `config.json`.
public enum CapacityModels {
    /// - Throws: ``StarSimError`` (wrapping the `ProjectionError` listing the known names).
    public static func resolve(_ name: String) throws(StarSimError) -> ModelSpec {
        do {
            if name.lowercased().hasSuffix(".gguf") {
                return try ModelSpec(gguf: GGUFFile(path: name), bytesPerElement: 2, weightBytesPerParameter: 2)
            }
            if name.lowercased().hasSuffix(".json") { return try ModelSpec(huggingFaceConfig: name) }
            return try ModelSpec.named(name)
        } catch {
            throw StarSimError.failed(("model: \(error)"))
        }
    }
}

/// One point of a projection sweep: a model, a method, a cluster and a context length.
public struct ProjectionConfig: Sendable, Hashable {
    public var model: ModelSpec
    public var method: MethodKind
    public var contextLength: Int
    /// Query tokens (question + chat suffix) encoded after the context; default 64.
    public var queryLength: Int
    /// Hosts used by star and ring (global always runs on 1 host).
    public var hosts: Int
    public var gpusPerHost: Int
    public var device: String
    public var intraHostLink: String
    public var interHostLink: String
    public var combine: ParallelCombine
    /// Star block size; nil = ``defaultBlock(contextLength:hosts:)``.
    public var blockSize: Int?
    /// Star anchor size; nil = the block size.
    public var anchorSize: Int?
    /// Tokens generated after the first (the first comes from the query): `generate` samples in total.
    public var generateTokens: Int
    public var granularity: Granularity
    /// Directory of user profiles (`ProfileCatalog(userDirectory:)`), nil for built-ins only.
    public var profileDirectory: String?

    public init(
        model: ModelSpec, method: MethodKind, contextLength: Int, queryLength: Int = 64, hosts: Int,
        gpusPerHost: Int = 1, device: String = "a100-80gb", intraHostLink: String = "nvlink-a100",
        interHostLink: String = "ib-hdr", combine: ParallelCombine = .pipeline, blockSize: Int? = nil,
        anchorSize: Int? = nil, generateTokens: Int = 1, granularity: Granularity = .perLayer,
        profileDirectory: String? = nil
    ) {
        self.model = model
        self.method = method
        self.contextLength = contextLength
        self.queryLength = queryLength
        self.hosts = hosts
        self.gpusPerHost = gpusPerHost
        self.device = device
        self.intraHostLink = intraHostLink
        self.interHostLink = interHostLink
        self.combine = combine
        self.blockSize = blockSize
        self.anchorSize = anchorSize
        self.generateTokens = generateTokens
        self.granularity = granularity
        self.profileDirectory = profileDirectory
    }

    /// The paper's block rule: `min(⌈L/H⌉, 32K)`. With 4 hosts up to 128K this is L/4 (the paper's
    /// "block = L/4"); beyond 128K it is fixed at 32K (several blocks per host); 70B at 128K on 8 hosts
    /// gives 16K, as in the paper's table.
    public static func defaultBlock(contextLength: Int, hosts: Int) -> Int {
        min((contextLength + max(hosts, 1) - 1) / max(hosts, 1), 32 * 1024)
    }

    /// Hosts the method actually uses (1 for global).
    public var effectiveHosts: Int { method == .global ? 1 : hosts }

    /// Star block size in use (nil for other methods).
    public var effectiveBlock: Int? {
        method.isStar ? (blockSize ?? Self.defaultBlock(contextLength: contextLength, hosts: hosts)) : nil
    }

    /// The plan, validated.
    /// - Throws: ``StarSimError`` saying why the context cannot be split.
    public func attentionMethod() throws(StarSimError) -> AttentionMethod {
        guard hosts >= 1 else { throw .invalid("hosts", "\(hosts)", "at least 1 host") }
        guard gpusPerHost >= 1 else { throw .invalid("gpus-per-host", "\(gpusPerHost)", "at least 1 GPU per host") }
        let spec = MethodSpec(kind: method, blockSize: effectiveBlock, anchorSize: anchorSize)
        do {
            return try spec.plan(contextLength: contextLength, queryLength: queryLength, hosts: hosts,
                                 defaultBlock: Self.defaultBlock)
        } catch {
            throw StarSimError.failed(
                "\(method.rawValue) cannot split \(TokenCount.format(contextLength)) tokens over \(hosts) hosts: \(error)")
        }
    }

    /// The cluster, resolved from profile names.
    /// - Throws: ``StarSimError`` listing the known devices / links.
    public func clusterSetup() throws(StarSimError) -> ClusterSetup {
        do {
            var s = try ClusterSetup.named(
                hosts: effectiveHosts, gpusPerHost: gpusPerHost, device: device, intraHostLink: intraHostLink,
                interHostLink: interHostLink, shape: .fullyConnected, combine: combine,
                catalog: ProfileCatalog(userDirectory: profileDirectory))
            s.granularity = granularity
            return s
        } catch {
            throw StarSimError.failed(("\(error)"))
        }
    }
}

/// Bytes one host sent in one phase.
public struct PhaseBytes: Sendable, Hashable, Codable {
    public var name: String
    public var phase: String
    public var bytes: Int
}

/// The projected outcome of one ``ProjectionConfig``.
public struct ProjectionResult: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        /// Projected: times below are valid.
        case ok
        /// The configuration does not fit in memory (the engine's message, with bytes).
        case outOfMemory(String)
        /// The plan is invalid or the run failed (message says why).
        case failed(String)
    }

    public var config: ProjectionConfig
    public var status: Status
    /// Seconds to the first sampled token (context + query encoding).
    public var timeToFirstToken: Double?
    /// Mean seconds between sampled tokens (nil with one token).
    public var timePerOutputToken: Double?
    /// Seconds to the last sampled token.
    public var totalTime: Double?
    /// Bytes that crossed links, all phases.
    public var bytesMoved: Int = 0
    /// Highest memory in use on any host, bytes.
    public var peakMemoryPerHost: Int64 = 0
    /// Capacity of one host (GPUs × device memory), bytes.
    public var hostCapacity: Int64 = 0
    /// Bytes sent by each host per phase (`host0`, `context`, …), sorted by host then phase.
    public var hostBytes: [PhaseBytes] = []
    /// Bytes carried by each link per phase, sorted by link then phase.
    public var linkBytes: [PhaseBytes] = []
    /// Wall seconds the projection took on this machine.
    public var wallSeconds: Double = 0

    /// Short status text: `ok`, `OOM`, `error`.
    public var statusText: String {
        switch status {
        case .ok: return "ok"
        case .outOfMemory: return "OOM"
        case .failed: return "error"
        }
    }

    /// The OOM / error message, nil when ok.
    public var message: String? {
        switch status {
        case .ok: return nil
        case .outOfMemory(let m), .failed(let m): return m
        }
    }
}

/// Runs projections, one or many, serially or on all cores.
public enum CapacityProjection {
    /// Projects one configuration. Never throws: an OOM or invalid plan is a result with that status.
    /// - Parameter recordsLog: keep the run's records (needed for per-phase bytes and traces).
    /// - Parameter trace: when set, writes the Chrome trace of the run to this path.
    public static func project(_ config: ProjectionConfig, trace: String? = nil) -> ProjectionResult {
        var result = ProjectionResult(config: config, status: .ok)
        let method: AttentionMethod
        let setup: ClusterSetup
        do {
            method = try config.attentionMethod()
            setup = try config.clusterSetup()
        } catch {
            result.status = .failed(error.description)
            return result
        }
        result.hostCapacity = Int64(config.gpusPerHost) * setup.topology.device.memoryCapacityBytes
        do {
            let outcome = try ProjectedExecution.run(
                model: config.model, method: method, name: config.method.rawValue, setup: setup,
                generateTokens: max(config.generateTokens, 1), recordsLog: true)
            result.wallSeconds = outcome.wallSeconds
            result.timeToFirstToken = outcome.timeToFirstToken.map(\.seconds)
            result.timePerOutputToken = outcome.timePerOutputToken.map(\.seconds)
            result.totalTime = outcome.sampleEnds.last.map { ($0 - .zero).seconds }
            result.bytesMoved = outcome.bytesMoved
            result.peakMemoryPerHost = outcome.peakMemoryPerHost
            let counters = outcome.counters
            for h in counters.hosts {
                for (phase, bytes) in h.sentByPhase.sorted(by: { $0.key < $1.key }) {
                    result.hostBytes.append(PhaseBytes(name: h.host.description, phase: phase, bytes: bytes))
                }
            }
            for l in counters.links where l.bytes > 0 {
                for (phase, bytes) in l.bytesByPhase.sorted(by: { $0.key < $1.key }) {
                    result.linkBytes.append(PhaseBytes(name: l.link.description, phase: phase, bytes: bytes))
                }
            }
            if let trace { try TraceWriter.write(outcome.report.log, to: trace) }
        } catch let error as ClusterError where error.code == .outOfMemory {
            result.status = .outOfMemory(error.description)
        } catch {
            result.status = .failed("\(error)")
        }
        return result
    }

    /// Projects every configuration; with `parallel`, independent configurations run concurrently on
    /// all cores (`DispatchQueue.concurrentPerform`). Results are in input order and identical to a
    /// serial run (each projection is deterministic and shares nothing).
    /// - Parameter progress: called (from any thread, serialised) with (done, total) after each one.
    public static func sweep(
        _ configs: [ProjectionConfig], parallel: Bool = true, traceDirectory: String? = nil,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) -> [ProjectionResult] {
        let box = ResultBox(count: configs.count)
        let work: @Sendable (Int) -> Void = { i in
            let trace = traceDirectory.map { "\($0)/\(traceName(configs[i], index: i))" }
            let r = project(configs[i], trace: trace)
            let done = box.store(r, at: i)
            progress?(done, configs.count)
        }
        if parallel && configs.count > 1 {
            DispatchQueue.concurrentPerform(iterations: configs.count, execute: work)
        } else {
            for i in configs.indices { work(i) }
        }
        return box.results()
    }

    /// File name of a configuration's trace: `003-star-llama-3.1-8b-128K-4x2.json`.
    public static func traceName(_ c: ProjectionConfig, index: Int) -> String {
        let safeModel = c.model.name.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        return String(format: "%03d", index) + "-\(c.method.rawValue)-\(String(safeModel))-"
            + "\(TokenCount.format(c.contextLength))-\(c.effectiveHosts)x\(c.gpusPerHost).json"
    }
}

/// Collects results from concurrent workers.
/// `@unchecked Sendable`: every access to `slots` and `done` is under `lock`.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [ProjectionResult?]
    private var done = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func store(_ r: ProjectionResult, at i: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        slots[i] = r
        done += 1
        return done
    }

    func results() -> [ProjectionResult] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0! }
    }
}
