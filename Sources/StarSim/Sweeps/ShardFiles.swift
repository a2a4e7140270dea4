import ConfigFiles
import Foundation

/// The files one shard of a sweep writes into the sweep directory (`--out DIR`):
/// - `shard-IIIII-of-NNNNN.jsonl`: one JSON object per line, `{"generator":"starsim","index":I,
///   "result":{…}}`, the configuration's index in the sweep and its full configuration and results,
///   appended as each configuration finishes (in any order);
/// - `shard-IIIII-of-NNNNN.manifest.json`: ``Manifest`` (one line), rewritten at the start and at the end.
/// Both carry StarSim's generator mark, so only StarSim's own files are ever appended to or replaced.
public enum ShardFiles {
    /// The format name in every manifest; a change that old readers cannot read bumps it.
    public static let format = "starsim-sweep-shard/1"

    /// What a shard is and whether it finished.
    public struct Manifest: Codable, Sendable {
        public var generator = "starsim"
        public var format = ShardFiles.format
        /// The StarSim version that wrote it.
        public var version = StarSimVersion.current
        /// ``ShardPlan/sweepHash`` of the whole sweep.
        public var sweepHash: String
        public var shard: Int
        public var shards: Int
        /// Configurations in the whole sweep.
        public var configurations: Int
        /// Configurations this shard runs (rows its `.jsonl` holds when complete).
        public var rows: Int
        /// True once every row of the shard is written.
        public var complete: Bool
        /// Set when the sweep is `starsim plan`'s search: the planner, so `merge` can print the plan.
        public var plan: CapacityPlanner?
    }

    /// One line of a shard's `.jsonl`.
    public struct Row: Codable, Sendable {
        public var generator = "starsim"
        /// The configuration's index in the whole sweep (``ProjectionSweep/configs()`` order).
        public var index: Int
        public var result: ProjectionResult
    }

    /// `shard-00002-of-00004`.
    public static func baseName(_ shard: ShardSpec) -> String {
        "shard-\(String(shard.index).leftPadded(to: 5))-of-\(String(shard.count).leftPadded(to: 5))"
    }
    public static func manifestName(_ shard: ShardSpec) -> String { baseName(shard) + ".manifest.json" }
    public static func rowsName(_ shard: ShardSpec) -> String { baseName(shard) + ".jsonl" }

    /// Largest shard file read back (rows of 10,000 configurations on 1,024 hosts stay far below).
    public static let maxFileBytes = 1 << 30

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        // Keys as the Swift names (camelCase): a key conversion strategy does not round-trip
        // acronyms such as `maxTTFT`.
        e.outputFormatting = [.sortedKeys]
        return e
    }

    static func decoder() -> JSONDecoder {
        JSONDecoder()
    }

    /// One line of JSON (no newline) for `value`.
    static func line<T: Encodable>(_ value: T) -> String {
        // Encoding our own value types cannot fail (no non-finite numbers reach them).
        String(decoding: (try? encoder().encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Every manifest in `directory` (any shard count), by file name.
    /// - Throws: ``StarSimError`` naming a manifest that cannot be read.
    public static func manifests(in directory: String) throws(StarSimError) -> [(name: String, manifest: Manifest)] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("shard-") && $0.hasSuffix(".manifest.json") }.sorted()
        var out: [(String, Manifest)] = []
        for name in names { out.append((name, try readManifest((directory as NSString).appendingPathComponent(name)))) }
        return out
    }

    /// Reads one manifest.
    /// - Throws: ``StarSimError`` naming the file and what is wrong.
    public static func readManifest(_ path: String) throws(StarSimError) -> Manifest {
        let data: Data
        do { data = try InputFile.read(path, limit: 1 << 20, expected: "a sweep shard manifest") } catch { throw .invalid(path, "\(error)") }
        let manifest: Manifest
        do { manifest = try decoder().decode(Manifest.self, from: data) } catch {
            throw .invalid(path, "is not a StarSim sweep shard manifest (\(ShardFiles.format)): \(Self.describe(error))")
        }
        guard manifest.format == format else {
            throw .invalid(path, "has format '\(manifest.format)'; this StarSim reads \(format)")
        }
        guard InputLimits.shards.contains(manifest.shards), (0..<manifest.shards).contains(manifest.shard),
              (0...InputLimits.configurationsPerShardedSweep).contains(manifest.configurations),
              (0...manifest.configurations).contains(manifest.rows) else {
            throw .invalid(path, "has inconsistent counts (shard \(manifest.shard) of \(manifest.shards), \(manifest.rows) of \(manifest.configurations) configurations)")
        }
        return manifest
    }

    /// The complete rows of a shard file, and how many bytes of a torn last line (a write cut off by a
    /// crash or pre-emption: no final newline) follow them.
    /// - Throws: ``StarSimError`` naming the file and line of a row that is not a complete row.
    public static func readRows(_ path: String) throws(StarSimError) -> (rows: [Row], validBytes: Int, tornBytes: Int) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], 0, 0) }
        let data: Data
        do { data = try InputFile.read(path, limit: maxFileBytes, expected: "a sweep shard's rows") } catch { throw .invalid(path, "\(error)") }
        // Lines are decoded from slices of `data` (a shard file may be large: no second copy).
        let end = (data.lastIndex(of: 0x0A).map { $0 + 1 }) ?? data.startIndex
        var rows: [Row] = []
        var start = data.startIndex, lineNumber = 0
        let decoder = decoder()
        while start < end {
            let stop = data[start..<end].firstIndex(of: 0x0A)!
            lineNumber += 1
            do {
                rows.append(try decoder.decode(Row.self, from: data[start..<stop]))
            } catch {
                throw .invalid("\(path):\(lineNumber)", "is not a complete sweep row: \(Self.describe(error)); "
                    + "remove the file to run the shard again from the start")
            }
            start = stop + 1
        }
        return (rows, end - data.startIndex, data.endIndex - end)
    }

    /// A decoding error in a sentence.
    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "field '\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "field '\(c.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not valid JSON" : "field '\(path)': \(c.debugDescription)"
        default: return "\(error)"
        }
    }
}

/// Appends rows to a shard file from concurrent workers, one whole line per `write(2)`.
/// `@unchecked Sendable`: the handle and `failure` are only touched under `lock`.
final class ShardRowWriter: @unchecked Sendable {
    private let lock = NSLock()
    private let handle: FileHandle
    private let path: String
    private(set) var failure: String?

    /// Opens `path` for appending after its first `validBytes` bytes (a torn tail is cut off).
    init(path: String, validBytes: Int) throws(StarSimError) {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw .failed("cannot create \(path): \(OutputDirectory.reason(errno))")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw .failed("cannot open \(path) for writing: \(OutputDirectory.reason(errno))") }
        do {
            try handle.truncate(atOffset: UInt64(validBytes))
            try handle.seekToEnd()
        } catch {
            throw .failed("cannot repair \(path): \(error.localizedDescription)")
        }
        self.handle = handle
    }

    func append(_ row: ShardFiles.Row) {
        let data = Data((ShardFiles.line(row) + "\n").utf8)
        lock.lock()
        defer { lock.unlock() }
        guard failure == nil else { return }
        do { try handle.write(contentsOf: data) } catch { failure = "cannot append to \(path): \(error.localizedDescription)" }
    }

    func close() throws(StarSimError) {
        lock.lock()
        defer { lock.unlock() }
        do { try handle.synchronize(); try handle.close() } catch { if failure == nil { failure = "cannot close \(path): \(error.localizedDescription)" } }
        if let failure { throw .failed(failure) }
    }
}
