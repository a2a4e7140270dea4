import Testing
@testable import Cluster

/// `TimelineLayout`: what the HTML report draws from a run's log.
@Suite struct TimelineLayoutTests {
    /// A log of `hosts` hosts, each computing `steps` steps of 1 ms in one phase and sending one
    /// message of 1000 bytes to the next host after each step.
    static func log(hosts: Int, steps: Int) -> RunLog {
        var records: [RunLog.Record] = []
        var id = 0
        for h in 0..<hosts {
            for s in 0..<steps {
                let start = SimInstant(nanoseconds: Int64(s) * 2_000_000)
                let end = start + .milliseconds(1)
                records.append(.compute(id: id, host: HostID(h), label: "attend(L\(s % 30))", phase: "context",
                                        start: start, end: end, dependsOn: id > 0 ? [id - 1] : []))
                id += 1
                let to = HostID((h + 1) % hosts)
                records.append(.transfer(id: id, flow: FlowID(id), from: HostID(h), to: to, route: [LinkID(from: HostID(h), to: to)],
                                         bytes: 1000, label: "kv(L\(s % 30))", phase: "context", sent: end,
                                         delivered: end + .microseconds(300), dependsOn: [id - 1]))
                id += 1
            }
            records.append(.memory(id: id, host: HostID(h), at: .zero, bytesInUse: 100, label: "weights"))
            id += 1
        }
        let links = (0..<hosts).map { LinkID(from: HostID($0), to: HostID(($0 + 1) % hosts)) }
        return RunLog(hosts: (0..<hosts).map { RunLog.HostInfo(id: HostID($0), name: "host\($0)") }, links: links, records: records)
    }

    @Test func aSmallRunIsDrawnRecordForRecord() {
        let log = Self.log(hosts: 3, steps: 5)
        let layout = TimelineLayout(log: log)
        #expect(!layout.folded)
        #expect(layout.lanes.filter { $0.kind == .host }.map(\.name) == ["host0", "host1", "host2"])
        #expect(layout.lanes.filter { $0.kind == .link }.count == 3)
        for lane in layout.lanes { #expect(lane.bars.count == 5, "\(lane.name)") }
        #expect(layout.arrows.count == 15 && layout.arrows.allSatisfy { $0.count == 1 })
        #expect(layout.messageCount == log.messageCount)
        #expect(layout.bytesBetween[0][1] == 5000 && layout.bytesBetween[1][0] == 0)
        #expect(layout.criticalRecords > 0 && layout.lanes.flatMap(\.bars).contains { $0.critical })
        #expect(layout.memory.map(\.count) == [1, 1, 1])
    }

    /// Over the budget: fewer bars and arrows, but every record, message and byte is accounted for.
    @Test func aBigRunIsFoldedWithinTheBudgetKeepingEveryCountAndByte() {
        let log = Self.log(hosts: 4, steps: 600)
        let budget = TimelineLayout.Budget(bars: 400, arrows: 100, memoryPoints: 50)
        let layout = TimelineLayout(log: log, budget: budget)
        #expect(layout.folded && layout.binWidth > .zero)
        #expect(layout.barCount <= budget.bars, "\(layout.barCount) bars")
        #expect(layout.arrows.count <= budget.arrows, "\(layout.arrows.count) arrows")
        for lane in layout.lanes {
            #expect(lane.bars.reduce(0) { $0 + $1.count } == 600, "\(lane.name)")
            if lane.kind == .link { #expect(lane.bars.reduce(0) { $0 + $1.bytes } == 600_000) }
        }
        #expect(layout.arrows.reduce(0) { $0 + $1.count } == 2400)
        #expect(layout.arrows.reduce(0) { $0 + $1.bytes } == 2_400_000)
        #expect(layout.messageCount == 2400)
        #expect(layout.lanes.flatMap(\.bars).contains { $0.count > 1 && $0.label.hasPrefix("\($0.count) records from") })
    }

    /// Many memory changes fold the memory line only: bars and arrows stay one per record and message.
    @Test func manyMemoryChangesDoNotFoldTheMessages() {
        var log = Self.log(hosts: 2, steps: 10)
        for i in 0..<1000 {
            log.records.append(.memory(id: 1000 + i, host: HostID(0), at: SimInstant(nanoseconds: Int64(i) * 10_000),
                                       bytesInUse: Int64(i), label: "kv"))
        }
        let layout = TimelineLayout(log: log, budget: TimelineLayout.Budget(bars: 400, arrows: 100, memoryPoints: 50))
        #expect(!layout.folded)
        #expect(layout.arrows.count == 20)
        #expect(layout.memory[0].count <= 51 && layout.memory[0].count > 1)
        #expect(layout.memory[0].map(\.bytes).max() == 999, "each bin keeps its largest value")
        #expect(layout.memory[1].count == 1)
    }

    /// A report of many runs shares one drawing budget: a few MB whatever the count, one run at the default.
    @Test func aReportSharesItsBudgetBetweenRuns() {
        #expect(TimelineLayout.Budget.share(of: 1) == TimelineLayout.Budget())
        #expect(TimelineLayout.Budget.share(of: 2) == TimelineLayout.Budget(bars: 12_000, arrows: 1_500))
        #expect(TimelineLayout.Budget.share(of: 5) == TimelineLayout.Budget(bars: 4_800, arrows: 1_500))
        #expect(TimelineLayout.Budget.share(of: 32) == TimelineLayout.Budget(bars: 800, arrows: 300))
        #expect(TimelineLayout.Budget.share(of: 0) == TimelineLayout.Budget())
    }

    /// Links that carried no byte get no lane ("one lane per busy link").
    @Test func idleLinksHaveNoLane() {
        var log = Self.log(hosts: 2, steps: 1)
        log.records.append(.transfer(id: 99, flow: FlowID(99), from: HostID(0), to: HostID(1),
                                     route: [LinkID(from: HostID(0), to: HostID(0))], bytes: 0, label: "empty", phase: "context",
                                     sent: .zero, delivered: .zero, dependsOn: []))
        let layout = TimelineLayout(log: log)
        #expect(!layout.lanes.contains { $0.name == "host0(intra)" })
    }
}
