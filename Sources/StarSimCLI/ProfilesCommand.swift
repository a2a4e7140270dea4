import ArgumentParser
import Foundation
import StarSim

/// `starsim profiles`: the device and link profiles a scenario, `project` or `plan` can name.
struct Profiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the device and link profiles (built-in and from --profiles DIR).",
        discussion: """
            Names listed here go in a scenario's cluster.device / intra_host_link / inter_host_link \
            and in --device / --intra-link / --inter-link. The built-ins are also in profiles/ as \
            editable YAML: copy one, rename it and pass its folder with --profiles.
            """)

    @Option(help: "Directory of user device/link profiles.")
    var profiles: String?

    func run() throws {
        let catalog = ProfileCatalog(userDirectory: profiles)
        do { try catalog.checkUserDirectory() } catch { try fail("--profiles: \(error)") }
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        print("devices (per GPU):")
        print("  " + pad("name", 14) + pad("peak FLOP/s", 13) + pad("memory BW", 15) + pad("memory", 11) + "summary")
        for name in catalog.deviceNames {
            do {
                let d = try catalog.device(named: name)
                print("  " + pad(d.name, 14) + pad(String(format: "%.3g", d.flopsPerSecond.value), 13)
                      + pad(formatBytes(Int(d.memoryBandwidthBytesPerSecond.value)) + "/s", 15)
                      + pad(formatBytes(Int(d.memoryCapacityBytes.value)), 11) + d.summary)
            } catch {
                print("  " + pad(name, 14) + "unreadable: \(error)")
            }
        }
        print("links:")
        print("  " + pad("name", 15) + pad("bandwidth", 13) + pad("latency", 10) + "summary")
        for name in catalog.linkNames {
            do {
                let l = try catalog.link(named: name)
                print("  " + pad(l.name, 15) + pad(formatBytes(Int(l.bandwidthBytesPerSecond.value)) + "/s", 13)
                      + pad(SimDuration.seconds(l.latencySeconds.value).description, 10) + l.summary)
            } catch {
                print("  " + pad(name, 15) + "unreadable: \(error)")
            }
        }
    }
}
