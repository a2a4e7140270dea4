import Collections
import Foundation

/// How a sweep's configurations are dealt to shards, and the hash that names the sweep. A pure
/// function of the configurations: every shard of the same sweep computes the same plan on any
/// machine, with no coordinator.
public struct ShardPlan: Sendable {
    /// Configuration indices (into the sweep's deterministic order) of each shard, ascending.
    public let shards: [[Int]]
    /// Estimated cost of each shard (sum of ``ProjectionConfig/estimatedWork``).
    public let costs: [Int]
    /// FNV-1a 64 of the configurations' canonical JSON, 16 hex digits: equal for the same sweep
    /// however its file is written, different when any configuration differs.
    public let sweepHash: String

    /// Balances by estimated cost, not by count: configurations in decreasing cost (index breaks
    /// ties) each go to the shard with the least cost so far (lowest shard breaks ties) — the
    /// longest-processing-time rule, within 4/3 of the best possible makespan.
    public init(configs: [ProjectionConfig], shardCount: Int) {
        precondition(shardCount >= 1, "ShardPlan: shardCount \(shardCount)")
        let cost = configs.map { max(1, $0.estimatedWork) }
        let order = configs.indices.sorted { cost[$0] != cost[$1] ? cost[$0] > cost[$1] : $0 < $1 }
        var shards = Array(repeating: [Int](), count: shardCount)
        var load = Array(repeating: 0, count: shardCount)
        // (load, shard) pairs; the least load, then the lowest shard, comes out first.
        var lightest = Heap((0..<shardCount).map { Slot(load: 0, shard: $0) })
        for i in order {
            let slot = lightest.removeMin()
            shards[slot.shard].append(i)
            load[slot.shard] = slot.load &+ cost[i]
            lightest.insert(Slot(load: load[slot.shard], shard: slot.shard))
        }
        self.shards = shards.map { $0.sorted() }
        self.costs = load
        self.sweepHash = Self.hash(configs)
    }

    private struct Slot: Comparable {
        var load: Int
        var shard: Int
        static func < (a: Slot, b: Slot) -> Bool { (a.load, a.shard) < (b.load, b.shard) }
    }

    /// The sweep hash of `configs` (see ``sweepHash``).
    public static func hash(_ configs: [ProjectionConfig]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in configs {
            let data = (try? encoder.encode(c)) ?? Data()
            for byte in data + [0x0A] {
                h ^= UInt64(byte)
                h = h &* 0x0000_0100_0000_01B3
            }
        }
        return String(h, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
