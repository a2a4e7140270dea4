#if canImport(Glibc)
import Glibc
#endif
import ConfigFiles
import FuzzSupport
import StarSim

/// Fuzzes every YAML reader with each input: scenarios (`Scenario.parse`), evaluation suites
/// (`EvaluationSuite.parse`), fault sections (`FaultSection.parse`, then `FaultPlan.validate`), device and link profiles (`ProfileCatalog.parseDevice/parseLink`),
/// all from text, and projection sweeps (`ProjectionSweep.load`, which only reads files: the input
/// goes to a scratch file). The input is read as UTF-8 (invalid sequences become U+FFFD, as a
/// reader that got the text from a file would have refused it). Thrown errors are expected;
/// crashes, leaks and hangs are what the fuzzer looks for.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)

    if let root = attempt("ConfigNode", { try ConfigNode.parse(text, file: "fuzz.yaml") }) {
        _ = (root.keys, root.line, root.kind)
        _ = attempt("Scenario") { try Scenario.parse(root) }
    }
    if let root = try? ConfigNode.parse(text, file: "fuzz.yaml"), let node = root.optional("faults"),
       let (plan, _) = attempt("FaultSection", { try FaultSection.parse(node, allowRandom: true) }) {
        // A parsed plan is checked against a small ring (a message, never a trap).
        let device = DeviceProfile(name: "d", flopsPerSecond: 1e12, memoryBandwidthBytesPerSecond: 1e12,
                                   memoryCapacityBytes: 1 << 34)
        let link = LinkProfile(name: "l", bandwidthBytesPerSecond: 1e9, latency: .microseconds(5))
        if let ring = try? Topology(TopologyDescription(hosts: 4, gpusPerHost: 1, device: device,
                                                        intraHostLink: link, interHostLink: link, shape: .ring)) {
            _ = attempt("FaultPlan.validate") { try plan.validate(against: ring) }
        }
    }
    if let root = try? ConfigNode.parse(text, file: "fuzz.yaml") {
        _ = attempt("EvaluationSuite") { try EvaluationSuite.parse(root) }
    }
    if let device = attempt("device profile", { try ProfileCatalog.parseDevice(yaml: text, file: "fuzz.yaml") }) {
        // What it writes must read back the same (the `yaml` property's documented contract).
        guard let again = try? ProfileCatalog.parseDevice(yaml: device.yaml, file: "again.yaml") else {
            fuzzFailure("device.yaml does not parse back:\n\(device.yaml)")
        }
        if again.yaml != device.yaml { fuzzFailure("device.yaml changes on a round trip:\n\(device.yaml)\n\(again.yaml)") }
    }
    if let link = attempt("link profile", { try ProfileCatalog.parseLink(yaml: text, file: "fuzz.yaml") }) {
        guard let again = try? ProfileCatalog.parseLink(yaml: link.yaml, file: "again.yaml") else {
            fuzzFailure("link.yaml does not parse back:\n\(link.yaml)")
        }
        if again.yaml != link.yaml { fuzzFailure("link.yaml changes on a round trip:\n\(link.yaml)\n\(again.yaml)") }
    }
    if let sweep = attempt("ProjectionSweep", { try ProjectionSweep.load(file: scratch.write(data, size)) }) {
        _ = sweep.configs().count
    }
    return 0
}

/// The sweep's scratch file, beside `profiles` (a link to the repository's `scenarios/paper/profiles`,
/// found from this source file's path) so that sweeps naming `profiles: profiles` and the paper's
/// device and links, as `scenarios/paper/*.yaml` do, load them.
let scratch: ScratchFile = {
    let file = ScratchFile(tag: "yaml", name: "input.yaml")
    let source = "\(#filePath)"
    if let r = source.firstRange(of: "/Fuzz/Sources/") {
        symlink("\(source[..<r.lowerBound])/scenarios/paper/profiles", "\(file.directory)/profiles")
    }
    return file
}()
