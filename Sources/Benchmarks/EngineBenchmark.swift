import Cluster
import Foundation

/// Throughput of the engine itself: events per second through the scheduler, with an actor hop
/// (scheduler actor → host actor) per event, and resident memory as the run goes.
///
/// The workload: every host runs a chain of compute steps whose costs differ per host (so events
/// of different hosts interleave in the queue and ties occur), until `events` compute completions
/// have been handled in total. Logging is off (`recordsLog: false`), so memory must stay flat no
/// matter how many events have been processed; RSS is sampled at 10%, 50% and 100% of the run.
public enum EngineBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public var events: Int
        public var hosts: Int
        public var wallSeconds: Double
        public var eventsPerSecond: Double
        /// CPU time of the thread that ran the loop, seconds (the machine is shared: this is the
        /// load-independent figure).
        public var cpuSeconds: Double
        public var eventsPerCPUSecond: Double
        /// Jobs the loop executor ran (actor hops the runtime did in place are not jobs).
        public var executorJobs: Int
        /// Resident set size before the run, bytes (`/proc/self/statm`; 0 where unavailable).
        public var rssBeforeBytes: Int
        /// RSS after 10%, 50% and 100% of the events.
        public var rssAt10PercentBytes: Int
        public var rssAt50PercentBytes: Int
        public var rssAt100PercentBytes: Int
        /// RSS after the run returned.
        public var rssAfterBytes: Int

        public var description: String {
            func mb(_ b: Int) -> String { String(format: "%.1f MB", Double(b) / 1e6) }
            return "\(events) events, \(hosts) hosts: \(String(format: "%.3f", wallSeconds)) s, "
                + "\(String(format: "%.0f", eventsPerSecond)) events/s (CPU \(String(format: "%.3f", cpuSeconds)) s, "
                + "\(String(format: "%.0f", eventsPerCPUSecond)) events/CPU-s, \(executorJobs) executor jobs); RSS before \(mb(rssBeforeBytes)), "
                + "at 10% \(mb(rssAt10PercentBytes)), 50% \(mb(rssAt50PercentBytes)), "
                + "100% \(mb(rssAt100PercentBytes)), after \(mb(rssAfterBytes))"
        }
    }

    /// Runs `events` compute completions spread over `hosts` hosts (plus one start event per host).
    ///
    /// - Parameter messageEvery: if > 0, every `messageEvery`-th step of a host also sends a 1 kB
    ///   message to the next host (exercising the network path); the message deliveries count as
    ///   events too. 0 (default): compute events only.
    public static func run(events: Int, hosts: Int, messageEvery: Int = 0) throws -> Result {
        precondition(events > 0 && hosts > 0, "events and hosts must be > 0")
        let link = LinkProfile(name: "bench", bandwidthBytesPerSecond: 1e11, latency: .nanoseconds(100))
        let device = DeviceProfile(name: "bench", flopsPerSecond: 1e12, memoryBandwidthBytesPerSecond: 1e12,
                                   memoryCapacityBytes: 1 << 40)
        let topology = try Topology(TopologyDescription(hosts: hosts, device: device, intraHostLink: link,
                                                        interHostLink: link, shape: .ring))
        let probe = Probe(total: events)
        let perHost = events / hosts
        let shells = (0..<hosts).map { i in
            BenchShell(steps: perHost + (i < events % hosts ? 1 : 0), cost: .nanoseconds(Int64(100 + i % 7)),
                       messageEvery: messageEvery, probe: probe)
        }
        let before = residentBytes()
        let simulation = Simulation(topology: topology, options: SimulationOptions(recordsLog: false))
        let cpu0 = threadCPUSeconds()
        let report = try simulation.run(shells: shells)
        let cpu = threadCPUSeconds() - cpu0
        let after = residentBytes()
        return Result(events: report.eventsProcessed, hosts: hosts, wallSeconds: report.wallSeconds,
                      eventsPerSecond: Double(report.eventsProcessed) / report.wallSeconds,
                      cpuSeconds: cpu, eventsPerCPUSecond: Double(report.eventsProcessed) / cpu,
                      executorJobs: report.executorJobs,
                      rssBeforeBytes: before, rssAt10PercentBytes: probe.samples[0],
                      rssAt50PercentBytes: probe.samples[1], rssAt100PercentBytes: probe.samples[2],
                      rssAfterBytes: after)
    }

    /// Current resident set size, bytes (Linux `/proc/self/statm`; 0 elsewhere).
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .ascii) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// CPU time consumed by the calling thread, seconds.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Counts completed steps across hosts and samples RSS at fixed fractions. Only touched on the
    /// loop thread (from the shells), hence a plain class.
    private final class Probe {
        let total: Int
        var done = 0
        var samples = [0, 0, 0]
        init(total: Int) { self.total = total }
        func step() {
            done += 1
            if done == total / 10 { samples[0] = residentBytes() }
            if done == total / 2 { samples[1] = residentBytes() }
            if done == total { samples[2] = residentBytes() }
        }
    }

    private final class BenchShell: HostShell {
        typealias Payload = Int
        var remaining: Int
        let cost: SimDuration
        let messageEvery: Int
        let probe: Probe
        var step = 0

        init(steps: Int, cost: SimDuration, messageEvery: Int, probe: Probe) {
            remaining = steps
            self.cost = cost
            self.messageEvery = messageEvery
            self.probe = probe
        }

        func start(_ host: isolated SimHost<Int>) {
            if remaining > 0 { _ = host.compute(label: "step", cost: cost) } else { host.finish() }
        }

        func received(_ message: Message<Int>, _ host: isolated SimHost<Int>) {}

        func computed(_ token: ComputeToken, _ host: isolated SimHost<Int>) {
            probe.step()
            remaining -= 1
            step += 1
            if messageEvery > 0 && step % messageEvery == 0 {
                host.send(to: HostID((host.id.rawValue + 1) % host.hostCount), bytes: 1_000, payload: step,
                          label: "msg")
            }
            if remaining > 0 { _ = host.compute(label: "step", cost: cost) } else { host.finish() }
        }
    }
}
