import Cluster
import Testing

@Suite("Topology: validation, links, routes")
struct TopologyTests {
    @Test("fully connected: every ordered pair plus one intra-host link per host")
    func fullyConnectedLinks() throws {
        let topo = try makeTopology(hosts: 4, gpusPerHost: 8)
        #expect(topo.links.count == 4 * 3 + 4)
        #expect(topo.links == topo.links.sorted())
        #expect(topo.hostCount == 4)
        #expect(topo.gpusPerHost == 8)
        #expect(topo.device.name == "test-gpu")
        #expect(try topo.route(from: HostID(3), to: HostID(0)) == [link(3, 0)])
        #expect(try topo.route(from: HostID(2), to: HostID(2)) == [link(2, 2)])
        #expect(topo.profile(of: link(2, 2))?.name == "test-nvlink")
        #expect(topo.profile(of: link(0, 3))?.name == "test-ib")
        #expect(topo.profile(of: link(0, 4)) == nil)
    }

    @Test("ring: neighbour links only; routes take the shorter direction, ties clockwise")
    func ringRoutes() throws {
        let topo = try makeTopology(hosts: 8, shape: .ring, interLatencyNs: 3)
        #expect(topo.links.count == 8 + 16)
        #expect(topo.profile(of: link(0, 2)) == nil)
        #expect(try topo.route(from: HostID(0), to: HostID(3)) == [link(0, 1), link(1, 2), link(2, 3)])
        #expect(try topo.route(from: HostID(0), to: HostID(5)) == [link(0, 7), link(7, 6), link(6, 5)])
        #expect(try topo.route(from: HostID(6), to: HostID(1)) == [link(6, 7), link(7, 0), link(0, 1)])
        let tie = try topo.route(from: HostID(1), to: HostID(5))
        #expect(tie == [link(1, 2), link(2, 3), link(3, 4), link(4, 5)])
        #expect(topo.latency(of: tie) == .nanoseconds(12))
        for a in 0..<8 {
            for b in 0..<8 where a != b {
                let hops = try topo.route(from: HostID(a), to: HostID(b)).count
                let d = (b - a + 8) % 8
                #expect(hops == min(d, 8 - d))
            }
        }
    }

    @Test("ring of 2 has one link each way; ring of 1 only the intra-host link")
    func smallRings() throws {
        #expect(try makeTopology(hosts: 2, shape: .ring).links == [link(0, 0), link(0, 1), link(1, 0), link(1, 1)])
        let one = try makeTopology(hosts: 1, shape: .ring)
        #expect(one.links == [link(0, 0)])
        #expect(try one.route(from: HostID(0), to: HostID(0)) == [link(0, 0)])
    }

    @Test("ring routes avoid a failed host; both directions blocked is 'no path'")
    func ringFailures() throws {
        var topo = try makeTopology(hosts: 6, shape: .ring)
        try topo.markFailed(HostID(1))
        #expect(topo.failedHosts == [HostID(1)])
        #expect(try topo.route(from: HostID(0), to: HostID(2)) == [link(0, 5), link(5, 4), link(4, 3), link(3, 2)])
        try topo.markFailed(HostID(4))
        do {
            _ = try topo.route(from: HostID(0), to: HostID(2))
            Issue.record("route through failed hosts accepted")
        } catch {
            #expect(error.code == .noPath)
            #expect(error.description == "no path from host0 to host2 in the ring topology: both ring directions pass a failed host (failed: host1, host4)")
        }
        do {
            _ = try topo.route(from: HostID(4), to: HostID(3))
            Issue.record("route from a failed host accepted")
        } catch { #expect(error.description.contains("host4 was marked failed")) }
    }

    @Test("validation errors name the field, profile and value")
    func validation() {
        func message(_ d: TopologyDescription) -> String? {
            do { _ = try Topology(d); return nil } catch { return error.description }
        }
        #expect(message(makeDescription(hosts: 0)) == "hosts: a cluster needs at least 1 host, got 0")
        #expect(message(makeDescription(hosts: 2, gpusPerHost: 0)) == "gpusPerHost: each host needs at least 1 GPU, got 0")
        #expect(message(makeDescription(hosts: 2, interBandwidth: 0))
                == "interHostLink 'test-ib': bandwidth must be a finite number of bytes/s greater than 0, got 0.0")
        #expect(message(makeDescription(hosts: 2, intraBandwidth: -5))
                == "intraHostLink 'test-nvlink': bandwidth must be a finite number of bytes/s greater than 0, got -5.0")
        #expect(message(makeDescription(hosts: 2, interBandwidth: .infinity))?.contains("got inf") == true)
        #expect(message(makeDescription(hosts: 2, interBandwidth: .nan))?.contains("got nan") == true)
        #expect(message(makeDescription(hosts: 2, interLatencyNs: -1)) == "interHostLink 'test-ib': latency must be >= 0 ns, got -1 ns")
        #expect(message(makeDescription(hosts: 3)) == nil)
    }

    @Test("other error messages: deadlock, out of memory, unknown host")
    func errorMessages() throws {
        let dead = ClusterError.deadlock(at: SimInstant(nanoseconds: 1_500_000), waiting: [
            .init(host: HostID(2), waitingFor: "message kv layer 3 from host1"),
            .init(host: HostID(0), waitingFor: "compute token 7"),
        ])
        #expect(dead.code == .deadlock)
        #expect(dead.description == "deadlock at 1.5ms: no event is pending but 2 host(s) still wait: host0 waits for compute token 7; host2 waits for message kv layer 3 from host1")
        let oom = ClusterError.outOfMemory(host: HostID(1), neededBytes: 600, inUseBytes: 500, capacityBytes: 1_000, label: "kv block 2")
        #expect(oom.description == "out of memory on host1 allocating 'kv block 2': needs 600 bytes with 500 in use, capacity 1000 bytes (short by 100 bytes)")
        let topo = try makeTopology(hosts: 2)
        #expect(throws: ClusterError.unknownHost(HostID(-1), hostCount: 2, context: "route from host-1 to host0")) {
            _ = try topo.route(from: HostID(-1), to: HostID(0))
        }
    }
}
