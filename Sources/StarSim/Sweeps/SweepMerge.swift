import Foundation

/// Reads a sweep directory written by shards (``ShardRun``) back into the sweep's results, after
/// checking that every shard is present and complete: the same results, in the same order, as one
/// unsharded run.
public enum SweepMerge {
    /// The merged sweep.
    public struct Merged: Sendable {
        public var sweepHash: String
        public var shards: Int
        /// Every configuration's result, in the sweep's order.
        public var results: [ProjectionResult]
        /// Set when the sweep was `starsim plan`'s search.
        public var plan: CapacityPlanner?
    }

    /// - Throws: ``StarSimError`` naming the missing shards, the partial ones (with the command that
    ///   finishes them), shards of different sweeps, or rows that do not add up to the sweep.
    public static func load(directory: String, option: String = "merge") throws(StarSimError) -> Merged {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .invalid(option, "\(directory) is not a directory")
        }
        let found = try ShardFiles.manifests(in: directory)
        guard let first = found.first?.manifest else {
            throw .invalid(option, "\(directory) holds no sweep shards (shard-*-of-*.manifest.json); run `starsim project SWEEP.yaml --shard I/N --out \(directory)` first")
        }
        for (name, m) in found where m.sweepHash != first.sweepHash || m.shards != first.shards || m.configurations != first.configurations {
            throw .invalid(option, "\(directory) mixes sweeps: \(found[0].name) is sweep \(first.sweepHash) in \(first.shards) shards, "
                + "\(name) is sweep \(m.sweepHash) in \(m.shards) shards")
        }
        let byShard = Dictionary(found.map { ($0.manifest.shard, $0) }, uniquingKeysWith: { a, _ in a })
        let missing = (0..<first.shards).filter { byShard[$0] == nil }
        if !missing.isEmpty {
            let list = missing.count > 10 ? missing.prefix(10).map(String.init).joined(separator: ", ") + " and \(missing.count - 10) more"
                : missing.map(String.init).joined(separator: ", ")
            throw .invalid(option, "\(directory): \(missing.count) of \(first.shards) shards missing (shard \(list)); "
                + "run each with --shard I/\(first.shards) --out \(directory)")
        }
        var slots = [ProjectionResult?](repeating: nil, count: first.configurations)
        var partial: [String] = []
        for shard in 0..<first.shards {
            let (name, manifest) = byShard[shard]!
            let spec = ShardSpec(index: shard, count: first.shards)
            let rowsPath = (directory as NSString).appendingPathComponent(ShardFiles.rowsName(spec))
            let (rows, _, torn) = try ShardFiles.readRows(rowsPath)
            guard manifest.complete, rows.count == manifest.rows, torn == 0 else {
                partial.append("shard \(shard) (\(rows.count) of \(manifest.rows) rows\(manifest.complete ? "" : ", not finished"); \(name))")
                continue
            }
            for (n, row) in rows.enumerated() {
                guard slots.indices.contains(row.index), slots[row.index] == nil else {
                    throw .invalid("\(rowsPath):\(n + 1)", "configuration \(row.index) is outside the sweep's \(first.configurations) or appears twice")
                }
                slots[row.index] = row.result
            }
        }
        if !partial.isEmpty {
            throw .invalid(option, "\(directory): \(partial.count) of \(first.shards) shards are partial: "
                + partial.prefix(10).joined(separator: "; ") + "; re-run each with the same --shard I/\(first.shards) --out \(directory) (it resumes)")
        }
        let absent = slots.indices.filter { slots[$0] == nil }
        guard absent.isEmpty else {
            throw .invalid(option, "\(directory): \(absent.count) configurations have no row (first: \(absent[0])); the shards do not add up to the sweep")
        }
        let results = slots.map { $0! }
        guard ShardPlan.hash(results.map(\.config)) == first.sweepHash else {
            throw .invalid(option, "\(directory): the rows' configurations do not hash to the manifests' sweep \(first.sweepHash); "
                + "the files were changed after they were written")
        }
        return Merged(sweepHash: first.sweepHash, shards: first.shards, results: results, plan: first.plan)
    }
}
