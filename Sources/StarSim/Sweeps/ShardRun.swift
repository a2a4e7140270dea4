import Foundation

/// Runs one shard of a sweep into a sweep directory, resumably: rows already written are skipped,
/// a torn last line is cut off and its configuration run again, and a directory that holds another
/// sweep's shards is refused (the manifests' sweep hash).
public enum ShardRun {
    /// What a shard run did.
    public struct Summary: Sendable {
        public var shard: ShardSpec
        public var sweepHash: String
        /// Configurations of this shard / of the whole sweep.
        public var rows: Int
        public var configurations: Int
        /// Rows found from an earlier run and skipped; rows run now.
        public var resumed: Int
        public var ran: Int
        /// Bytes of a torn last line that were cut off.
        public var repairedBytes: Int
        public var rowsFile: String
        /// Rows whose projection failed (kept as rows with status `error`; `merge` reports them).
        public var failed: Int
    }

    /// Runs shard `shard` of `configs` (the whole sweep, in its deterministic order) into `directory`.
    /// - Parameters:
    ///   - plan: set when the sweep is `starsim plan`'s search (stored in the manifest for `merge`).
    ///   - progress: (done, total) over this shard's remaining configurations.
    /// - Throws: ``StarSimError`` for a directory of another sweep, unreadable or foreign shard files,
    ///   a shard too big for one run, or a failed write.
    public static func run(
        _ configs: [ProjectionConfig], shard: ShardSpec, directory: OutputDirectory, plan: CapacityPlanner? = nil,
        parallel: Bool = true, traceDirectory: OutputDirectory? = nil,
        progress: (@Sendable (Int, Int) -> Void)? = nil, running: (@Sendable (Int, Int, SimInstant) -> Void)? = nil
    ) throws(StarSimError) -> Summary {
        let shardPlan = ShardPlan(configs: configs, shardCount: shard.count)
        let mine = shardPlan.shards[shard.index]
        try ProjectionSweep.checkWork(mine.map { configs[$0] }, shard: shard.description)
        let manifestName = ShardFiles.manifestName(shard), rowsName = ShardFiles.rowsName(shard)
        try directory.check(names: [manifestName, rowsName])
        try directory.create()
        let rowsPath = (directory.path as NSString).appendingPathComponent(rowsName)
        let manifestPath = (directory.path as NSString).appendingPathComponent(manifestName)

        // Never mix sweeps: every manifest already here must be of this sweep and shard count.
        for (name, other) in try ShardFiles.manifests(in: directory.path) {
            guard other.sweepHash == shardPlan.sweepHash else {
                throw .invalid(directory.option, "\(directory.path) holds shards of another sweep (\(name): sweep \(other.sweepHash); "
                    + "this is sweep \(shardPlan.sweepHash)); use another directory")
            }
            guard other.shards == shard.count else {
                throw .invalid(directory.option, "\(directory.path) holds this sweep in \(other.shards) shards (\(name)); run it with "
                    + "--shard I/\(other.shards), or use another directory for \(shard.count) shards")
            }
        }
        if FileManager.default.fileExists(atPath: rowsPath) && !FileManager.default.fileExists(atPath: manifestPath) {
            throw .invalid(directory.option, "\(rowsPath) exists without its manifest \(manifestName); refusing to append to it "
                + "(remove it to run the shard from the start)")
        }

        // Resume: keep the complete rows of this sweep, cut a torn tail.
        let (old, validBytes, tornBytes) = try ShardFiles.readRows(rowsPath)
        let expected = Set(mine)
        var done = Set<Int>()
        for (n, row) in old.enumerated() {
            guard expected.contains(row.index), row.result.config == configs[row.index], done.insert(row.index).inserted else {
                throw .invalid("\(rowsPath):\(n + 1)", "row for configuration \(row.index) does not belong to shard \(shard) of this sweep "
                    + "(or repeats one); remove the file to run the shard from the start")
            }
        }
        var manifest = ShardFiles.Manifest(
            sweepHash: shardPlan.sweepHash, shard: shard.index, shards: shard.count, configurations: configs.count,
            rows: mine.count, complete: false, plan: plan)
        try directory.write(ShardFiles.line(manifest) + "\n", name: manifestName)

        let remaining = mine.filter { !done.contains($0) }
        let writer = try ShardRowWriter(path: rowsPath, validBytes: validBytes)
        var onEvents: (@Sendable (Int, Int, SimInstant) -> Void)?
        if let running {
            onEvents = { (i: Int, events: Int, time: SimInstant) in running(remaining[i], events, time) }
        }
        let onResult: @Sendable (Int, ProjectionResult) -> Void = { i, result in
            writer.append(ShardFiles.Row(index: remaining[i], result: result))
        }
        let results = CapacityProjection.sweep(
            remaining.map { configs[$0] }, parallel: parallel, traceDirectory: traceDirectory,
            traceIndices: remaining, progress: progress, running: onEvents, completed: onResult)
        try writer.close()
        manifest.complete = true
        try directory.write(ShardFiles.line(manifest) + "\n", name: manifestName)
        let failed = results.filter { if case .failed = $0.status { return true } else { return false } }.count
            + old.filter { if case .failed = $0.result.status { return true } else { return false } }.count
        return Summary(shard: shard, sweepHash: shardPlan.sweepHash, rows: mine.count, configurations: configs.count,
                       resumed: done.count, ran: remaining.count, repairedBytes: tornBytes, rowsFile: rowsPath, failed: failed)
    }
}
