import Foundation

/// Which slice of a sweep this process runs: shard `index` of `count` (0-based), from `--shard I/N`
/// or from the batch system's environment (`--shard auto`).
public struct ShardSpec: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `I/N` as the user writes it.
    public var description: String { "\(index)/\(count)" }

    /// Parses `--shard`:
    /// - `I/N`: shard I of N, 0 ≤ I < N;
    /// - `auto`: Slurm job arrays, `SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`;
    /// - `auto/N`: N shards, the index from Kubernetes' `JOB_COMPLETION_INDEX` (Indexed Jobs) or from Slurm.
    /// - Throws: ``StarSimError`` naming `field` or the environment variable.
    public static func parse(_ text: String, field: String = "--shard",
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws(StarSimError) -> ShardSpec {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 1 || parts.count == 2 else { throw .invalidValue(field, text, "I/N (shard I of N, 0 ≤ I < N), auto or auto/N") }
        var count: Int?
        if parts.count == 2 {
            guard let n = Int(parts[1]), InputLimits.shards.contains(n) else {
                throw .invalidValue(field, text, "a shard count N in \(InputLimits.shards.lowerBound)...\(InputLimits.shards.upperBound) after the '/'")
            }
            count = n
        }
        if parts[0] == "auto" { return try fromEnvironment(count: count, field: field, environment: environment) }
        guard let i = Int(parts[0]), let n = count else { throw .invalidValue(field, text, "I/N (shard I of N, 0 ≤ I < N), auto or auto/N") }
        guard (0..<n).contains(i) else { throw .invalidValue(field, text, "a shard index I in 0...\(n - 1) (shards are numbered from 0)") }
        return ShardSpec(index: i, count: n)
    }

    static func fromEnvironment(count: Int?, field: String, environment env: [String: String]) throws(StarSimError) -> ShardSpec {
        func number(_ name: String) throws(StarSimError) -> Int? {
            guard let text = env[name], !text.isEmpty else { return nil }
            guard let n = Int(text), n >= 0 else { throw .invalidValue(name, text, "a non-negative integer (set by the batch system)") }
            return n
        }
        if let id = try number("SLURM_ARRAY_TASK_ID") {
            let first = try number("SLURM_ARRAY_TASK_MIN") ?? 0
            let slurmCount = try number("SLURM_ARRAY_TASK_COUNT")
            guard let n = count ?? slurmCount else {
                throw .invalid(field, "auto: SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_COUNT; give the count as auto/N")
            }
            guard InputLimits.shards.contains(n) else {
                throw .invalidValue("SLURM_ARRAY_TASK_COUNT", "\(n)", "a shard count in \(InputLimits.shards.lowerBound)...\(InputLimits.shards.upperBound)")
            }
            let index = id - first
            guard (0..<n).contains(index) else {
                throw .invalid(field, "auto: array task \(id) (first \(first)) is not one of \(n) shards; submit the array as --array=0-\(n - 1)")
            }
            return ShardSpec(index: index, count: n)
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            guard let n = count else {
                throw .invalid(field, "auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job); give the shard count as auto/N (the Job's completions)")
            }
            guard index < n else { throw .invalid(field, "auto/\(n): JOB_COMPLETION_INDEX is \(index); expected 0...\(n - 1) (completions = \(n))") }
            return ShardSpec(index: index, count: n)
        }
        throw .invalid(field, "auto: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give the shard as I/N")
    }
}
