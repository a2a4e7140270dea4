import Cluster
import Foundation
import Testing

/// A small hand-built run on 2 hosts (times in ns):
/// - r0 compute host0 "embed" [0, 1_000_000] prefill
/// - r1 transfer host0→host1 1.2 MB "kv layer 3" sent 1_000_000 delivered 2_234_567, depends on r0
/// - r2 compute host1 "attend" [0, 500_000] prefill
/// - r3 compute host1 "merge" [2_500_000, 3_000_000] decode, depends on r1, r2
/// - r4 memory host1 at 2_234_567: 1_200_000 bytes
/// - r5 mark host1 at 3_000_000 "done"
/// - r6 compute host0 "post" [1_000_000, 1_500_000] prefill, depends on r0
/// - r7 transfer host0→host1 300 kB "extra \"quoted\"\nline" sent 1_500_000 delivered 2_000_000 (overlaps r1)
func sampleLog() -> RunLog {
    let route = [LinkID(from: HostID(0), to: HostID(1))]
    return RunLog(
        hosts: [.init(id: HostID(0), name: "host0"), .init(id: HostID(1), name: "host1")],
        links: [LinkID(from: HostID(0), to: HostID(1)), LinkID(from: HostID(1), to: HostID(0))],
        records: [
            .compute(id: 0, host: HostID(0), label: "embed", phase: "prefill", start: at(0), end: at(1_000_000), dependsOn: []),
            .transfer(id: 1, flow: FlowID(0), from: HostID(0), to: HostID(1), route: route, bytes: 1_200_000,
                      label: "kv layer 3", phase: "prefill", sent: at(1_000_000), delivered: at(2_234_567), dependsOn: [0]),
            .compute(id: 2, host: HostID(1), label: "attend", phase: "prefill", start: at(0), end: at(500_000), dependsOn: []),
            .compute(id: 3, host: HostID(1), label: "merge", phase: "decode", start: at(2_500_000), end: at(3_000_000), dependsOn: [1, 2]),
            .memory(id: 4, host: HostID(1), at: at(2_234_567), bytesInUse: 1_200_000, label: "kv"),
            .mark(id: 5, host: HostID(1), at: at(3_000_000), label: "done"),
            .compute(id: 6, host: HostID(0), label: "post", phase: "prefill", start: at(1_000_000), end: at(1_500_000), dependsOn: [0]),
            .transfer(id: 7, flow: FlowID(1), from: HostID(0), to: HostID(1), route: route, bytes: 300_000,
                      label: "extra \"quoted\"\nline", phase: "prefill", sent: at(1_500_000), delivered: at(2_000_000), dependsOn: [6]),
        ])
}

@Suite("Reporters: trace JSON, text timeline, critical path, counters")
struct TraceReportTests {
    func events(_ json: String) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return try #require(object?["traceEvents"] as? [[String: Any]])
    }

    @Test("exact microsecond timestamps from integer nanoseconds")
    func microsecondFormatting() {
        #expect(TraceWriter.microseconds(1_234_567) == "1234.567")
        #expect(TraceWriter.microseconds(0) == "0.000")
        #expect(TraceWriter.microseconds(5) == "0.005")
        #expect(TraceWriter.microseconds(1_000) == "1.000")
        #expect(TraceWriter.microseconds(-1_050) == "-1.050")
        #expect(TraceWriter.microseconds(9_007_199_254_740_993) == "9007199254740.993")  // beyond Double's exact range
    }

    @Test("trace is valid JSON with the right events, exact times and is byte-identical across runs")
    func chromeTrace() throws {
        let log = sampleLog()
        let json = TraceWriter.chromeTraceJSON(log)
        #expect(json == TraceWriter.chromeTraceJSON(log))
        let all = try events(json)
        func phase(_ p: String) -> [[String: Any]] { all.filter { $0["ph"] as? String == p } }
        #expect(phase("X").count == 6)
        #expect(phase("s").count == 2)
        #expect(phase("f").count == 2)
        #expect(Set(phase("s").map { $0["id"] as! Int }) == Set(phase("f").map { $0["id"] as! Int }))
        #expect(phase("i").count == 1)
        // Transfer r1 from 1000 µs lasting 1234.567 µs, written exactly.
        #expect(json.contains("\"ts\":1000.000,\"dur\":1234.567"))
        // The quoted label survives escaping.
        let extra = try #require(phase("X").first { ($0["args"] as? [String: Any])?["id"] as? Int == 7 })
        #expect(extra["name"] as? String == "extra \"quoted\"\nline")
        // Overlapping transfers on one link go to different lanes (threads) of host0.
        let transferTids = phase("X").filter { $0["cat"] as? String == "transfer" }.map { $0["tid"] as! Int }
        #expect(Set(transferTids).count == 2)
        // r1's arrow ends on host1 where r3 ("merge") consumes it, at r3's start.
        let f1 = try #require(phase("f").first { $0["id"] as? Int == 1 })
        #expect(f1["pid"] as? Int == 1)
        #expect(json.contains("\"ph\":\"f\",\"id\":1,\"ts\":2500.000,\"pid\":1"))
        // Bytes in flight on host0->host1: 1.2 MB, 1.5 MB, 1.2 MB, 0.
        let inFlight = phase("C").filter { $0["name"] as? String == "in flight host0->host1" }
        #expect(inFlight.map { ($0["args"] as! [String: Any])["bytes"] as! Int } == [1_200_000, 1_500_000, 1_200_000, 0])
        let memory = phase("C").filter { $0["name"] as? String == "memory" }
        #expect(memory.count == 1)
        // Metadata names both processes and the tracks.
        let names = phase("M").filter { $0["name"] as? String == "thread_name" }.map { ($0["args"] as! [String: Any])["name"] as! String }
        #expect(names.contains("compute"))
        #expect(names.contains("→host1"))
        #expect(names.contains("→host1 #2"))
        #expect(phase("M").filter { $0["name"] as? String == "process_name" }.count == 2)
    }

    @Test("JSON string escaping of control characters and quotes")
    func escaping() throws {
        let s = "a\"b\\c\n\t\u{01}é→"
        let literal = TraceWriter.jsonString(s)
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
        #expect(parsed == [s])
        #expect(literal == "\"a\\\"b\\\\c\\n\\t\\u0001é→\"")
    }

    @Test("critical path of the sample run: embed → kv transfer → merge")
    func criticalPath() {
        let path = CriticalPath(log: sampleLog())
        #expect(path.steps.map(\.recordID) == [0, 1, 3])
        #expect(path.finish == at(3_000_000))
        #expect(path.computeTime == .nanoseconds(1_500_000))
        #expect(path.transferTime == .nanoseconds(1_234_567))
        #expect(path.waitingTime == .nanoseconds(265_433))
        #expect(path.computeTime + path.transferTime + path.waitingTime == path.finish - .zero)
        #expect(path.steps.map(\.waitBefore) == [.zero, .zero, .nanoseconds(265_433)])
        #expect(path.byPhase.map(\.phase) == ["decode", "prefill"])
        #expect(path.byPhase[0].compute == .nanoseconds(500_000))
        #expect(path.byPhase[1].compute == .nanoseconds(1_000_000))
        #expect(path.byPhase[1].transfer == .nanoseconds(1_234_567))
        #expect(path.summary.hasPrefix("critical path: 3ms = compute 1.5ms + transfer 1.235ms + waiting 265.433µs"))
    }

    @Test("critical path of an empty log is empty")
    func emptyCriticalPath() {
        let path = CriticalPath(log: RunLog())
        #expect(path.steps.isEmpty)
        #expect(path.finish == .zero)
    }

    @Test("counters of the sample run, with and without the topology's latency")
    func counters() throws {
        let c = RunCounters(log: sampleLog())
        #expect(c.runLength == .nanoseconds(3_000_000))
        let h0 = try #require(c.host(HostID(0)))
        #expect(h0.bytesSent == 1_500_000)
        #expect(h0.sentByPhase == ["prefill": 1_500_000])
        #expect(h0.busy == .nanoseconds(1_500_000))
        #expect(h0.idle == .nanoseconds(1_500_000))
        #expect(h0.computeByPhase == ["prefill": .nanoseconds(1_500_000)])
        let h1 = try #require(c.host(HostID(1)))
        #expect(h1.bytesReceived == 1_500_000)
        #expect(h1.busy == .nanoseconds(1_000_000))
        #expect(h1.idle == .nanoseconds(2_000_000))
        #expect(h1.peakMemoryBytes == 1_200_000)
        #expect(h1.computeByPhase == ["prefill": .nanoseconds(500_000), "decode": .nanoseconds(500_000)])
        let l01 = try #require(c.link(link(0, 1)))
        #expect(l01.bytes == 1_500_000)
        #expect(l01.busy == .nanoseconds(1_234_567))
        #expect(abs(l01.utilisation - 1_234_567.0 / 3_000_000.0) < 1e-12)
        #expect(c.link(link(1, 0))?.bytes == 0)
        #expect(c.phases == ["decode", "prefill"])

        let topo = try makeTopology(hosts: 2, interLatencyNs: 34_567)
        let withLatency = RunCounters(log: sampleLog(), topology: topo)
        // [1_034_567, 2_234_567] ∪ [1_534_567, 2_000_000] = 1.2 ms.
        #expect(withLatency.link(link(0, 1))?.busy == .nanoseconds(1_200_000))
        #expect(withLatency.link(link(0, 1))?.utilisation == 0.4)
        #expect(c.summary.contains("host1  busy 1ms (33.3%)  idle 2ms"))
    }

    @Test("text timeline: aligned columns, exact times, line limit")
    func textTimeline() {
        let text = TextTimeline.render(sampleLog())
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == 8)
        #expect(lines.contains("  1.500ms  host0  send     host0->host1 300.00 KB extra \"quoted\"\\nline  [prefill]  arrives 2ms"))
        #expect(lines[0] == "  0.000ms  host0  compute  embed  [prefill]  1ms")
        #expect(lines[2] == "  1.000ms  host0  send     host0->host1 1.20 MB kv layer 3  [prefill]  arrives 2.235ms")
        #expect(lines.contains("  2.234ms  host1  memory   kv: 1.20 MB in use"))
        #expect(lines.last == "  3.000ms  host1  mark     done")
        let limited = TextTimeline.render(sampleLog(), limit: 3)
        #expect(limited.hasSuffix("  … 5 more\n"))
        #expect(limited.split(separator: "\n").count == 4)
    }
}

@Suite("Reporters: golden trace")
struct TraceGoldenTests {
    /// The whole trace of the sample run, reviewed by hand: lanes, arrow ends, counter levels and exact
    /// timestamps are those derived in the comment of `sampleLog()`. Because each test process has a new
    /// hash seed, matching it also shows that no dictionary order leaks into the output.
    @Test("the sample run's trace matches the reviewed golden text byte for byte")
    func golden() {
        // (The literal drops the final newline the writer ends with.)
        #expect(TraceWriter.chromeTraceJSON(sampleLog()) == Self.expected + "\n")
    }

    static let expected = #"""
{"displayTimeUnit":"ns","otherData":{"generator":"starsim"},"traceEvents":[
{"name":"process_name","ph":"M","pid":0,"args":{"name":"host0"}},
{"name":"process_sort_index","ph":"M","pid":0,"args":{"sort_index":0}},
{"name":"process_name","ph":"M","pid":1,"args":{"name":"host1"}},
{"name":"process_sort_index","ph":"M","pid":1,"args":{"sort_index":1}},
{"name":"thread_name","ph":"M","pid":0,"tid":1,"args":{"name":"compute"}},
{"name":"thread_sort_index","ph":"M","pid":0,"tid":1,"args":{"sort_index":1}},
{"name":"thread_name","ph":"M","pid":0,"tid":2,"args":{"name":"→host1"}},
{"name":"thread_sort_index","ph":"M","pid":0,"tid":2,"args":{"sort_index":2}},
{"name":"thread_name","ph":"M","pid":0,"tid":3,"args":{"name":"→host1 #2"}},
{"name":"thread_sort_index","ph":"M","pid":0,"tid":3,"args":{"sort_index":3}},
{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"compute"}},
{"name":"thread_sort_index","ph":"M","pid":1,"tid":1,"args":{"sort_index":1}},
{"name":"thread_name","ph":"M","pid":1,"tid":2,"args":{"name":"→host0"}},
{"name":"thread_sort_index","ph":"M","pid":1,"tid":2,"args":{"sort_index":2}},
{"name":"embed","cat":"compute","ph":"X","ts":0.000,"dur":1000.000,"pid":0,"tid":1,"args":{"id":0,"phase":"prefill"}},
{"name":"kv layer 3","cat":"transfer","ph":"X","ts":1000.000,"dur":1234.567,"pid":0,"tid":2,"args":{"id":1,"flow":0,"from":"host0","to":"host1","bytes":1200000,"phase":"prefill"}},
{"name":"attend","cat":"compute","ph":"X","ts":0.000,"dur":500.000,"pid":1,"tid":1,"args":{"id":2,"phase":"prefill"}},
{"name":"merge","cat":"compute","ph":"X","ts":2500.000,"dur":500.000,"pid":1,"tid":1,"args":{"id":3,"phase":"decode"}},
{"name":"done","cat":"mark","ph":"i","s":"t","ts":3000.000,"pid":1,"tid":1,"args":{"id":5}},
{"name":"post","cat":"compute","ph":"X","ts":1000.000,"dur":500.000,"pid":0,"tid":1,"args":{"id":6,"phase":"prefill"}},
{"name":"extra \"quoted\"\nline","cat":"transfer","ph":"X","ts":1500.000,"dur":500.000,"pid":0,"tid":3,"args":{"id":7,"flow":1,"from":"host0","to":"host1","bytes":300000,"phase":"prefill"}},
{"name":"kv layer 3","cat":"message","ph":"s","id":1,"ts":1000.000,"pid":0,"tid":2,"bp":"e"},
{"name":"kv layer 3","cat":"message","ph":"f","id":1,"ts":2500.000,"pid":1,"tid":1,"bp":"e"},
{"name":"extra \"quoted\"\nline","cat":"message","ph":"s","id":7,"ts":1500.000,"pid":0,"tid":3,"bp":"e"},
{"name":"extra \"quoted\"\nline","cat":"message","ph":"f","id":7,"ts":2000.000,"pid":1,"tid":1,"bp":"e"},
{"name":"in flight host0->host1","ph":"C","ts":1000.000,"pid":0,"args":{"bytes":1200000}},
{"name":"in flight host0->host1","ph":"C","ts":1500.000,"pid":0,"args":{"bytes":1500000}},
{"name":"in flight host0->host1","ph":"C","ts":2000.000,"pid":0,"args":{"bytes":1200000}},
{"name":"in flight host0->host1","ph":"C","ts":2234.567,"pid":0,"args":{"bytes":0}},
{"name":"memory","ph":"C","ts":2234.567,"pid":1,"args":{"bytes":1200000}}
]}
"""#
}
