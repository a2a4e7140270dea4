import Foundation
import Testing
@testable import ConfigFiles

/// Configuration files a careless or hostile user might give: every one gets a `ConfigError` naming
/// the file (and line where there is one) — never a crash, a hang or unbounded memory.
@Suite struct HostileConfigTests {
    private func error(_ text: String) -> ConfigError? {
        do { _ = try ConfigNode.parse(text, file: "bad.yaml"); return nil } catch { return error }
    }

    /// Deep nesting in every YAML spelling is refused before composing (which recurses per level).
    @Test(arguments: [
        "x: " + String(repeating: "[", count: 5000),
        "x: " + String(repeating: "{a: ", count: 5000),
        (0..<200).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n"),
        "x:\n" + String(repeating: "- ", count: 500) + "1",
        "x: " + String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
    ])
    func deepNestingIsRefusedWithItsLine(_ text: String) {
        let e = error(text)
        #expect(e?.message.contains("nesting deeper than \(ConfigNode.maxDepth) levels") == true, "\(String(describing: e))")
        #expect(e?.line != nil)
    }

    /// Nesting up to the limit, block scalars and brackets inside strings or comments are not counted
    /// as depth.
    @Test func ordinaryFilesPassTheDepthCheck() throws {
        let nested = "x: " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        #expect(error(nested) == nil)
        let text = """
            name: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
            note: '{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{'
            prompt: |
            \((0..<100).map { String(repeating: " ", count: $0 + 2) + "line \($0)" }.joined(separator: "\n"))
            other: 1  # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
            """
        let root = try ConfigNode.parse(text, file: "ok.yaml")
        #expect(try root.string("other") == "1")
    }

    @Test func duplicateKeysAreRejectedWithBothLines() {
        let top = error("a: 1\nb: 2\na: 3\n")
        #expect(top?.field == "a" && top?.line == 3 && top?.message.contains("first given at line 1") == true)
        let nested = error("cluster:\n  hosts: 4\n  hosts: 8\n")
        #expect(nested?.field == "cluster.hosts" && nested?.line == 3)
        let inList = error("methods:\n  - star: {block: 1, block: 2}\n")
        #expect(inList?.field == "methods[0].star.block")
    }

    /// Aliases that expand exponentially ("billion laughs") are bounded by a count of values.
    @Test func aliasExpansionIsBounded() {
        var text = "a: &a [1,2,3,4,5,6,7,8,9,10]\n"
        for (name, previous) in zip(["b", "c", "d", "e", "f", "g"], ["a", "b", "c", "d", "e", "f"]) {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ",") + "]\n"
        }
        #expect(error(text)?.message.contains("expands to more than") == true)
    }

    @Test func oversizedTextIsRefused() {
        let big = "x: \"" + String(repeating: "a", count: ConfigNode.maxFileBytes) + "\"\n"
        #expect(error(big)?.message.contains("limited to") == true)
    }

    /// Paths that are not YAML files say what they are instead.
    @Test func filesThatAreNotConfigurationFilesSayWhatTheyAre() throws {
        func loadError(_ path: String) -> String {
            do { _ = try ConfigNode.load(file: path); return "" } catch { return error.description }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("starsim-hostile-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(loadError(dir).contains("is a directory"))
        #expect(loadError("/dev/null").contains("is not a regular file"))
        #expect(loadError(dir + "/missing.yaml").contains("file not found"))
        let binary = dir + "/binary.yaml"
        _ = FileManager.default.createFile(atPath: binary, contents: Data([0xFF, 0xFE, 0x00, 0xC3]))
        #expect(loadError(binary).contains("is not UTF-8"))
        let large = dir + "/large.yaml"
        _ = FileManager.default.createFile(atPath: large, contents: Data(count: ConfigNode.maxFileBytes + 1))
        #expect(loadError(large).contains("4 MiB"))
        let empty = dir + "/empty.yaml"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(loadError(empty).contains("empty"))
    }

    /// Numbers: out-of-range, overflowing and non-finite values are errors naming the range.
    @Test func numbersOutsideTheirRangeAreErrors() throws {
        let root = try ConfigNode.parse("a: 99999999999999999999\nb: 9999999999999999G\nc: .inf\nd: -5\ne: 1e-300\n", file: "n.yaml")
        #expect(throws: ConfigError.self) { try root.int("a", range: 1...10) }
        #expect(throws: ConfigError.self) { try root.int("b") }
        #expect(throws: ConfigError.self) { try root.double("c") }
        #expect(throws: ConfigError.self) { try root.int("d", range: 1...10) }
        do { _ = try root.double("e", range: 1e3...1e14); Issue.record("1e-300 accepted") } catch {
            #expect(error.message.contains("1000...1e+14"))
        }
    }
}
