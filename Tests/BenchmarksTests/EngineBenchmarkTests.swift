import Benchmarks
import Cluster
import Foundation
import Testing

@Suite("Engine benchmark")
struct EngineBenchmarkTests {
    /// Small and always on: the benchmark runs, counts what it should, and logs nothing.
    @Test func smallBenchmarkCountsEveryEvent() throws {
        let r = try EngineBenchmark.run(events: 20_000, hosts: 10)
        #expect(r.events == 20_000 + 10)  // compute completions + one start per host
        #expect(r.eventsPerSecond > 0)
        let m = try EngineBenchmark.run(events: 10_000, hosts: 10, messageEvery: 2)
        #expect(m.events == 10_000 + 10 + 5_000)  // plus one delivery per message
    }

    /// The real measurement (set `STARSIM_ENGINE_BENCH=1`): prints best and median of 5 repeats.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["STARSIM_ENGINE_BENCH"] == "1"))
    func measure() throws {
        for (events, hosts, every) in [(2_000_000, 10, 0), (2_000_000, 1_000, 0), (1_000_000, 1_000, 4)] {
            var results: [EngineBenchmark.Result] = []
            for _ in 0..<5 { results.append(try EngineBenchmark.run(events: events, hosts: hosts, messageEvery: every)) }
            let rates = results.map(\.eventsPerSecond).sorted()
            print("engine benchmark events=\(events) hosts=\(hosts) messageEvery=\(every): best \(Int(rates.last!)) /s, median \(Int(rates[2])) /s")
            for r in results { print("  \(r)") }
        }
    }
}
