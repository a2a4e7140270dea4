import DistributedAttention
import Testing

/// A minimal driver with no symbolic state: FIFO events, ops complete in issue order.
/// Used to check termination, traffic and event counts at projection scale (1M tokens, 80 layers).
struct CountingDriver {
    var programs: [any HostProgram]
    let sampledTokens: Int
    var traffic: TrafficTable
    var computeOps = 0
    var messages = 0
    var samples = 0

    init(programs: [any HostProgram], sampledTokens: Int) {
        self.programs = programs
        self.sampledTokens = sampledTokens
        traffic = TrafficTable(hosts: programs.count)
    }

    mutating func run() {
        var queue: [(Int, HostEvent)] = programs.indices.map { ($0, HostEvent.start) }
        var head = 0
        while head < queue.count {
            let (h, event) = queue[head]
            head += 1
            for d in programs[h].handle(event) {
                switch d {
                case .compute(let id, let op):
                    computeOps += 1
                    if case .sample = op {
                        samples += 1
                        queue.append((h, .sampled(token: Int32(samples), stop: samples == sampledTokens)))
                    } else {
                        queue.append((h, .computed(id)))
                    }
                case .send(let to, let m):
                    messages += 1
                    traffic[h, m.phase] += m.bytes
                    queue.append((to, .received(m, from: h)))
                case .dropKV, .dropHidden, .dropQueries, .finish:
                    break
                }
            }
        }
    }
}

@Suite("Projection scale")
struct ScaleTests {
    @Test("Star and Ring at 1M tokens on Llama-3.1-70B terminate quickly with the analytic traffic")
    func millionTokens() throws {
        let shape = ModelShape.llama31_70B
        let L = 1 << 20
        let star = try StarPlan(contextLength: L, queryLength: 64, blockSize: 32_768, anchorSize: 32_768, hosts: 16)
        let ring = try RingPlan(contextLength: L, queryLength: 64, hosts: 16, partition: .zigzag)
        for (method, granularity) in [
            (AttentionMethod.star(star), Granularity.coarse), (.star(star), .perLayer), (.ring(ring), .perLayer),
        ] {
            let clock = ContinuousClock()
            var driver = CountingDriver(programs: method.programs(shape: shape, granularity: granularity), sampledTokens: 16)
            let elapsed = clock.measure { driver.run() }
            #expect(driver.programs.allSatisfy { $0.isFinished })
            #expect(driver.samples == 16)
            #expect(driver.traffic == method.analyticTraffic(shape: shape, sampledTokens: 16))
            print("\(method) \(granularity): \(driver.computeOps) ops, \(driver.messages) messages in \(elapsed)")
        }
    }
}
