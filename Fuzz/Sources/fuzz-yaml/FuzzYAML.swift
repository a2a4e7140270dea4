#if canImport(Glibc)
import Glibc
#endif
import ConfigFiles
import FuzzSupport
import StarSim

/// Fuzzes every YAML reader with each input: scenarios (`Scenario.parse`), evaluation suites
/// (`EvaluationSuite.parse`), device and link profiles (`ProfileCatalog.parseDevice/parseLink`),
/// all from text, and projection sweeps (`ProjectionSweep.load`, which only reads files: the input
/// goes to a scratch file). The input is read as UTF-8 (invalid sequences become U+FFFD, as a
/// reader that got the text from a file would have refused it). Thrown errors are expected;
/// crashes, leaks and hangs are what the fuzzer looks for.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    if KnownCrashes.skip, nestingDepth(bytes) > maxNesting { return 0 }

    if let root = attempt("ConfigNode", { try ConfigNode.parse(text, file: "fuzz.yaml") }) {
        _ = (root.keys, root.line, root.kind)
        _ = attempt("Scenario") { try Scenario.parse(root) }
    }
    if let root = try? ConfigNode.parse(text, file: "fuzz.yaml") {
        _ = attempt("EvaluationSuite") { try EvaluationSuite.parse(root) }
    }
    if let device = attempt("device profile", { try ProfileCatalog.parseDevice(yaml: text, file: "fuzz.yaml") }),
        !(KnownCrashes.skip && !quotedScalarsSurvive(device.yaml)) {
        // What it writes must read back the same (the `yaml` property's documented contract).
        guard let again = try? ProfileCatalog.parseDevice(yaml: device.yaml, file: "again.yaml") else {
            fuzzFailure("device.yaml does not parse back:\n\(device.yaml)")
        }
        if again.yaml != device.yaml { fuzzFailure("device.yaml changes on a round trip:\n\(device.yaml)\n\(again.yaml)") }
    }
    if let link = attempt("link profile", { try ProfileCatalog.parseLink(yaml: text, file: "fuzz.yaml") }),
        !(KnownCrashes.skip && !quotedScalarsSurvive(link.yaml)) {
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

/// Known (Regressions/fuzz-yaml/roundtrip-cr-in-note.yaml): `DeviceSpec.yaml` / `LinkSpec.yaml`
/// quote strings escaping only `"`, `\\` and newline, so a name, summary or note holding a control
/// character reads back changed (CR, NEL) or not at all (other C0 and C1 controls, DEL, and the
/// non-characters U+FFFE, U+FFFF, which YAML does not allow either). True when
/// `yaml` has none of them.
func quotedScalarsSurvive(_ yaml: String) -> Bool {
    yaml.unicodeScalars.allSatisfy { c in
        switch c.value {
        case 0x09, 0x0A, 0x20...0x7E, 0xA0...0xFFFD, 0x10000...: return true
        default: return false
        }
    }
}

/// Known: Yams' composer recurses once per nesting level, so thousands of nested collections
/// overflow the stack (Regressions/fuzz-yaml/). Inputs nested deeper than this are skipped.
let maxNesting = 200

/// An upper bound on the input's collection nesting: open flow brackets (`[`, `{`) plus the block
/// indicators (`-`, `?`, `:` before a blank) on one line, plus the line's indentation.
func nestingDepth(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var deepest = 0, flow = 0, line = 0, indent = 0, atLineStart = true
    for (i, b) in bytes.enumerated() {
        switch b {
        case UInt8(ascii: "["), UInt8(ascii: "{"): flow += 1
        case UInt8(ascii: "]"), UInt8(ascii: "}"): flow = max(0, flow - 1)
        case UInt8(ascii: "-"), UInt8(ascii: "?"), UInt8(ascii: ":"):
            let next = i + 1 < bytes.count ? bytes[i + 1] : UInt8(ascii: "\n")
            if next == UInt8(ascii: " ") || next == UInt8(ascii: "\t") || next == UInt8(ascii: "\n") || next == UInt8(ascii: "\r") {
                line += 1
            }
        case UInt8(ascii: "\n"), UInt8(ascii: "\r"): line = 0; indent = 0; atLineStart = true; continue
        case UInt8(ascii: " "), UInt8(ascii: "\t"): if atLineStart { indent += 1 }; continue
        default: break
        }
        atLineStart = false
        deepest = max(deepest, flow + line + indent)
    }
    return deepest
}
