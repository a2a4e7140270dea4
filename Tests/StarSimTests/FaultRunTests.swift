import Cluster
import DistributedAttention
import Foundation
import Llama
import StarSim
import Testing

/// Faults on real runs (a tiny random model, every host doing its own math): the answer never
/// changes — the same tokens and logits as the fault-free run, for every fault kind and method —
/// while time, bytes and the report do.
@Suite struct FaultRunTests {
    static let session = DistributedExecutionTests.session

    enum Kind: String, CaseIterable, CustomStringConvertible {
        case slowLink, failedLink, straggler, lossInPhase1, lossInPhase2
        var description: String { rawValue }
    }

    static let methods: [(String, AttentionMethod)] = {
        [
            ("global", .global(try! GlobalPlan(contextLength: 96, queryLength: 4))),
            ("star", .star(try! StarPlan(contextLength: 96, queryLength: 4, blockSize: 24, anchorSize: 24, hosts: 4))),
            ("ring", .ring(try! RingPlan(contextLength: 96, queryLength: 4, hosts: 4, partition: .contiguous))),
            ("ring-zigzag", .ring(try! RingPlan(contextLength: 96, queryLength: 4, hosts: 4, partition: .zigzag))),
            ("allgather-zigzag+tree", .ring(try! RingPlan(contextLength: 96, queryLength: 4, hosts: 4, partition: .zigzag,
                                                          phase2: .tree, exchange: .allGather))),
            ("star+tree", .star(try! StarPlan(contextLength: 96, queryLength: 4, blockSize: 24, anchorSize: 24, hosts: 4,
                                              phase2: .tree))),
        ]
    }()

    static func setup(hosts: Int, faults: FaultPlan = .none) throws -> ClusterSetup {
        var s = try DistributedExecutionTests.setup(hosts: hosts)
        s.faults = faults
        return s
    }

    /// A fault of `kind` placed inside the fault-free run `clean` (times are fractions of its phases).
    static func fault(_ kind: Kind, hosts: Int, clean: MethodOutcome) throws -> FaultPlan {
        let ttft = try #require(clean.timeToFirstToken)
        let end = clean.report.finish
        let contextEnd = clean.phaseEnd(.contextEncoding) ?? SimInstant(nanoseconds: ttft.nanoseconds / 2)
        func at(_ x: SimInstant, _ f: Double) -> SimInstant { SimInstant(nanoseconds: Int64(Double(x.nanoseconds) * f)) }
        let last = HostID(hosts - 1), first = HostID(0)
        switch kind {
        case .slowLink:
            return FaultPlan(links: [.init(links: hosts > 1 ? .allInterHost : .link(LinkID(from: first, to: first)),
                                           effect: .degraded(bandwidthFactor: 0.01, extraLatency: .microseconds(200)),
                                           window: .init(), field: "faults.links[0]")])
        case .failedLink:
            // Every inter-host link down for the first half of the run: messages wait (no path around).
            let l = hosts > 1 ? FaultPlan.LinkSelector.allInterHost : .link(LinkID(from: first, to: first))
            return FaultPlan(links: [.init(links: l, effect: .down, window: .init(from: .zero, until: at(end, 0.5)),
                                           field: "faults.links[0]")])
        case .straggler:
            return FaultPlan(stragglers: [.init(host: last, speedFactor: 0.3, window: .init(from: at(contextEnd, 0.2)),
                                                field: "faults.stragglers[0]")])
        case .lossInPhase1:
            return FaultPlan(hostLosses: [.init(host: hosts > 1 ? HostID(1) : first, at: at(contextEnd, 0.5),
                                                field: "faults.host_loss[0]")], recoveryDelay: .milliseconds(3))
        case .lossInPhase2:
            let mid = SimInstant(nanoseconds: (ttft.nanoseconds + end.nanoseconds) / 2)
            return FaultPlan(hostLosses: [.init(host: hosts > 1 ? HostID(1) : first, at: mid, field: "faults.host_loss[0]")],
                             recoveryDelay: .milliseconds(3))
        }
    }

    @Test(arguments: Kind.allCases)
    func theAnswerDoesNotChangeOnlyTimeAndBytesDo(kind: Kind) throws {
        let p = DistributedExecutionTests.prompt(context: 96, query: 4, seed: 7)
        for (name, method) in Self.methods {
            let clean = try Self.session.execute(method, name: name, prompt: p, setup: Self.setup(hosts: method.hosts), maxNewTokens: 4)
            let plan = try Self.fault(kind, hosts: method.hosts, clean: clean)
            let faulted = try Self.session.execute(method, name: name, prompt: p,
                                                   setup: Self.setup(hosts: method.hosts, faults: plan), maxNewTokens: 4)
            #expect(faulted.generated == clean.generated, "\(name), \(kind): tokens changed")
            // Partials merge in arrival order, which a fault changes: float rounding only (~1e-6 seen).
            let diff = DistributedExecutionTests.maxDifference(faulted.logits, clean.logits)
            #expect(diff <= 1e-4, "\(name), \(kind): logits changed by \(diff)")
            if method.hosts == 1 && (kind == .slowLink || kind == .failedLink) {
                // Global on one host sends nothing: a link fault has nothing to slow.
                #expect(faulted.report.finish == clean.report.finish, "\(name), \(kind)")
            } else {
                #expect(faulted.report.finish > clean.report.finish, "\(name), \(kind): the fault cost no time")
            }
            let marks = faulted.report.log.records.compactMap { r -> String? in
                if case .mark(let m) = r { return m.label } else { return nil }
            }
            switch kind {
            case .slowLink, .failedLink:
                #expect(marks.contains { $0.hasPrefix("link ") }, "\(name), \(kind): no link mark")
            case .straggler:
                #expect(faulted.report.hosts[method.hosts - 1].counters.busy > clean.report.hosts[method.hosts - 1].counters.busy)
            case .lossInPhase1, .lossInPhase2:
                let r = try #require(faulted.report.faults.recoveries.first, "\(name), \(kind): no recovery")
                #expect(marks.contains { $0.hasPrefix("lost (faults.host_loss[0])") })
                #expect(marks.contains { $0.hasPrefix("spare starts") })
                // Star's phase-1 hosts have sent nothing: only the lost one is redone. Ring's hosts
                // have passed K/V by then, and in phase 2 every method's hosts have merged partials.
                if kind == .lossInPhase1 && name.hasPrefix("star") { #expect(r.restartedHosts == [HostID(1)]) }
                if name.hasPrefix("ring") || name.hasPrefix("allgather") || kind == .lossInPhase2 {
                    #expect(r.restartedHosts.count == method.hosts, "\(name), \(kind): \(r.restartedHosts)")
                }
                #expect(r.workLost > .zero)
            }
        }
    }

    /// Random faults at rates that hit every run several times (links failing and coming back, hosts
    /// lost while others are down, losses before and after messages): the answer still does not change.
    @Test(arguments: 0..<6)
    func randomFaultStormsDoNotChangeTheAnswer(trial: Int) throws {
        let p = DistributedExecutionTests.prompt(context: 96, query: 4, seed: 11)
        for (name, method) in Self.methods where method.hosts > 1 {
            let clean = try Self.session.execute(method, name: name, prompt: p, setup: Self.setup(hosts: 4), maxNewTokens: 3)
            let run = clean.report.finish.seconds
            let random = RandomFaults(trials: 1, seed: 40, linkFailuresPerHour: 2 * 3600 / run, linkRepairSeconds: run / 8,
                                      hostFailuresPerHour: 0.5 * 3600 / run)
            var plan = random.sample(trial: trial, topology: try Topology(Self.setup(hosts: 4).topology), horizon: clean.report.finish)
            plan.recoveryDelay = .microseconds(50)
            let faulted = try Self.session.execute(method, name: name, prompt: p, setup: Self.setup(hosts: 4, faults: plan),
                                                   maxNewTokens: 3)
            #expect(faulted.generated == clean.generated, "\(name), trial \(trial): tokens changed under \(plan.lines)")
            #expect(DistributedExecutionTests.maxDifference(faulted.logits, clean.logits) <= 1e-4)
        }
    }

    @Test func aFaultedRealRunIsByteIdenticalTwice() throws {
        let p = DistributedExecutionTests.prompt(context: 96, query: 4, seed: 3)
        let (name, method) = Self.methods[1]
        let clean = try Self.session.execute(method, name: name, prompt: p, setup: Self.setup(hosts: 4), maxNewTokens: 3)
        var plan = try Self.fault(.lossInPhase1, hosts: 4, clean: clean)
        plan.links = try Self.fault(.failedLink, hosts: 4, clean: clean).links
        plan.stragglers = try Self.fault(.straggler, hosts: 4, clean: clean).stragglers
        func once() throws -> String {
            let o = try Self.session.execute(method, name: name, prompt: p, setup: Self.setup(hosts: 4, faults: plan), maxNewTokens: 3)
            return TraceWriter.chromeTraceJSON(o.report.log)
        }
        #expect(try once() == once())
    }

    @Test func theModeledTwinOfARealRunHasItsTimes() throws {
        // The report's fault-free column comes from a modeled run of the same programs: it must
        // reproduce the real run's virtual times exactly.
        let p = DistributedExecutionTests.prompt(context: 96, query: 4, seed: 5)
        for (name, method) in Self.methods {
            let real = try Self.session.execute(method, name: name, prompt: p, setup: Self.setup(hosts: method.hosts), maxNewTokens: 4)
            let twin = try Self.session.modeledRun(method, name: name, setup: Self.setup(hosts: method.hosts),
                                                   tokens: real.generated.count)
            #expect(twin.report.finish == real.report.finish, "\(name)")
            #expect(twin.sampleEnds == real.sampleEnds, "\(name)")
        }
    }
}
