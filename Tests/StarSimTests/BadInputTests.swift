import ArgumentParser
import ConfigFiles
import Foundation
import Testing
import TestSupport
@testable import StarSim
@testable import StarSimCLI

/// The bad-input regression suite: one test per class of hostile or careless input (numbers out of
/// range or overflowing, negative numbers, usage conflicts, missing or wrong files, unsafe output
/// names and paths, work bombs). Each must end in a clear message naming the option, field or path,
/// with the documented exit code (README: 2 bad input, 64 usage) — never a crash or a hang.
@Suite struct BadInputTests {
    /// Runs a command in process and returns its failure (nil when it succeeded).
    private func failure(_ arguments: [String]) throws -> CommandFailure? {
        var command = try StarSimCommand.parseAsRoot(arguments)
        do { try command.run() } catch let f as CommandFailure { return f }
        return nil
    }

    private func usageExitCode(_ arguments: [String]) -> Int32? {
        do { _ = try StarSimCommand.parseAsRoot(arguments); return nil } catch {
            return StarSimCommand.exitCode(for: error).rawValue
        }
    }

    /// Every numeric option of `project`, at values below, above and far beyond its range (including
    /// ones that overflowed `Int` before), and negative: exit 2 naming the option.
    @Test(arguments: [
        ("context", "0"), ("context", "-5"), ("context", "1000000000000000000"), ("context", "99999999999999M"),
        ("context", "17M"), ("hosts", "0"), ("hosts", "-4"), ("hosts", "1025"), ("hosts", "99999999999999999999"),
        ("gpus-per-host", "0"), ("gpus-per-host", "100000"), ("generate", "0"), ("generate", "-1"),
        ("generate", "32769"), ("query", "0"), ("query", "2000000"), ("block", "0"), ("block", "-1"),
        ("anchor", "-1"), ("anchor", "20M"),
    ])
    func projectNumbersOutOfRange(_ option: String, _ value: String) throws {
        let f = try failure(["project", "--\(option)", value, "--methods", "star"])
        #expect(f?.code == 2, "--\(option) \(value): \(String(describing: f))")
        #expect(f?.message.contains(option) == true, "\(String(describing: f?.message))")
    }

    @Test func otherCommandsRejectNegativeAndHugeNumbers() throws {
        for arguments in [
            ["generate", "--max-tokens", "-1"], ["generate", "--max-tokens", "0"], ["generate", "--max-tokens", "1000000000"],
            ["plan", "--context", "128K", "--max-ttft", "-1s"], ["plan", "--context", "-1"],
            ["bench", "kernels", "--repetitions", "-3"], ["bench", "engine", "--events", "999999999999"],
            ["bench", "simulation", "--hosts", "-4"],
        ] {
            let f = try failure(arguments)
            #expect(f?.code == 2, "\(arguments): \(String(describing: f))")
            #expect(f.map { $0.message.contains(arguments[arguments.count - 2]) } == true, "\(arguments): \(String(describing: f))")
        }
    }

    /// Usage errors (conflicting flags, unknown options) are the argument parser's: exit 64.
    @Test func usageErrorsExit64() {
        #expect(usageExitCode(["project", "--csv", "--json"]) == 64)
        #expect(usageExitCode(["project", "--table", "--csv"]) == 64)
        #expect(usageExitCode(["project", "--bogus"]) == 64)
        #expect(usageExitCode(["generate", "--max-tokens"]) == 64)
    }

    /// Missing or wrong files and directories are named as such (not as unknown names).
    @Test func missingFilesAndDirectoriesAreNamed() throws {
        let profiles = try failure(["project", "--profiles", "/no/such/dir", "--context", "16K"])
        #expect(profiles?.code == 2 && profiles?.message.contains("/no/such/dir: profile directory not found") == true)
        let device = try failure(["project", "--device", "nope.yaml", "--context", "16K"])
        #expect(device?.message.contains("nope.yaml: file not found") == true)
        let devNull = try failure(["validate", "/dev/null"])
        #expect(devNull?.message.contains("not a regular file") == true)
        let directory = try failure(["validate", "/tmp"])
        #expect(directory?.message.contains("is a directory") == true)
        let configDirectory = try TemporaryDirectory()
        defer { configDirectory.cleanup() }
        let config = configDirectory.path + "/config.json"
        try #"{"hidden_size": 9223372036854775807, "num_hidden_layers": 32, "num_attention_heads": 32, "intermediate_size": 100, "vocab_size": 100}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        let model = try failure(["project", "--model", config, "--context", "16K"])
        #expect(model?.code == 2 && model?.message.contains("hidden") == true)
    }

    /// Work that would run for minutes or hours is refused up front, naming the estimate.
    @Test func workBombsAreRefusedBeforeTheyStart() throws {
        let ring = try failure(["project", "--hosts", "1024", "--context", "1M", "--methods", "ring"])
        #expect(ring?.code == 2 && ring?.message.contains("simulated events") == true)
        let decode = try failure(["project", "--generate", "30000", "--context", "16K", "--methods", "star"])
        #expect(decode?.code == 2 && decode?.message.contains("simulated events") == true)
    }

    /// Sweeps are bounded in configurations and in total work, before anything runs.
    @Test func hugeSweepsAreRefusedBeforeTheyStart() throws {
        let hosts = (1...100).map(String.init).joined(separator: ",")
        let contexts = (1...20).map { "\($0)K" }.joined(separator: ",")
        let many = try failure(["project", "--hosts", hosts, "--context", contexts,
                                "--methods", "global,star,star-noanchor,star-prev,ring,ring-zigzag"])
        #expect(many?.code == 2 && many?.message.contains("configurations") == true, "\(String(describing: many))")
        // 60 ring configurations of about 4.7M events each: each fits, together they do not.
        var sweep = ProjectionSweep(models: [.llama31_8B], contexts: (1...60).map { $0 * 4096 }, hosts: [300])
        sweep.methods = [.ring]
        #expect(throws: StarSimError.self) { try sweep.checkWork() }
    }

    /// Scenario names start trace file names, so anything that is not a plain file name is refused.
    @Test(arguments: ["../../x", "", ".", "..", "a/b", "/etc/passwd", "tab\there"])
    func scenarioNamesMustBeFileNames(_ name: String) {
        let yaml = "name: \"\(name.replacingOccurrences(of: "\t", with: "\\t"))\"\nprompt: {kind: passkey}\nmethods: [global]\n"
        do {
            _ = try Scenario.parse(ConfigNode.parse(yaml, file: "n.yaml"))
            Issue.record("name '\(name)' was accepted")
        } catch {
            #expect((error as ConfigError).field == "name", "\(error)")
        }
    }

    @Test func repeatedMethodsAreRefused() {
        for methods in ["[global, global]", "[star, ring, star]", "[{star: {block: 64}}, {star: {block: 64}}]"] {
            #expect(throws: ConfigError.self, "\(methods)") {
                try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\nmethods: \(methods)\n", file: "m.yaml"))
            }
        }
        #expect(throws: Never.self) {
            try Scenario.parse(ConfigNode.parse("prompt: {kind: passkey}\nmethods: [{star: {block: 64}}, {star: {block: 128}}]\n", file: "m.yaml"))
        }
    }

    /// Output directories: checked before any work; a file StarSim did not write is never replaced
    /// (unless forced); its own outputs are; nothing is written outside the directory.
    @Test func outputFilesAreCheckedAndNeverReplacedUnlessStarSimWroteThem() throws {
        let rootDirectory = try TemporaryDirectory()
        defer { rootDirectory.cleanup() }
        let root = rootDirectory.path
        let traces = root + "/traces"
        let name = "000-star-llama-3.1-8b-16K-4x2.json"
        #expect(try failure(["project", "--context", "16K", "--methods", "star", "--trace", traces]) == nil)
        let first = try String(contentsOfFile: traces + "/" + name, encoding: .utf8)
        #expect(first.contains(#""generator":"starsim""#))
        // Its own file is replaced without a word.
        #expect(try failure(["project", "--context", "16K", "--methods", "star", "--trace", traces]) == nil)
        // A user's file is not.
        try "mine".write(toFile: traces + "/" + name, atomically: true, encoding: .utf8)
        let refused = try failure(["project", "--context", "16K", "--methods", "star", "--trace", traces])
        #expect(refused?.code == 2 && refused?.message.contains("was not written by StarSim") == true)
        #expect(try String(contentsOfFile: traces + "/" + name, encoding: .utf8) == "mine")
        #expect(try failure(["project", "--context", "16K", "--methods", "star", "--trace", traces, "--force"]) == nil)
        // Plots: same rule, and a file where the directory should be.
        let plots = root + "/plots"
        try FileManager.default.createDirectory(atPath: plots, withIntermediateDirectories: true)
        try "<svg/>".write(toFile: plots + "/time-vs-context.svg", atomically: true, encoding: .utf8)
        #expect(try failure(["project", "--context", "16K", "--plots", plots])?.message.contains("was not written by StarSim") == true)
        let file = root + "/afile"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try failure(["project", "--context", "16K", "--trace", file])?.message.contains("is a file") == true)
        #expect(try failure(["project", "--context", "16K", "--plots", file + "/sub"])?.message.contains("is a file") == true)
        // No Foundation error dumps anywhere in these messages.
        for arguments in [["project", "--context", "16K", "--trace", file], ["validate", "/dev/null"]] {
            let message = try failure(arguments)?.message ?? ""
            #expect(!message.contains("NSCocoaErrorDomain") && !message.contains("Error Domain"), "\(message)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        #expect(names == ["afile", "plots", "traces"])
    }

    /// Traces written before outputs carried the mark are still recognised as StarSim's.
    @Test func tracesFromBeforeTheMarkCanBeReplaced() throws {
        let dirDirectory = try TemporaryDirectory()
        defer { dirDirectory.cleanup() }
        let dir = dirDirectory.path
        try "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"args\":{}}\n]}\n"
            .write(toFile: dir + "/old.json", atomically: true, encoding: .utf8)
        try "{\"traceEvents\":[]}".write(toFile: dir + "/other.json", atomically: true, encoding: .utf8)
        let out = OutputDirectory(dir, option: "--trace")
        #expect(throws: Never.self) { try out.check(names: ["old.json"]) }
        #expect(throws: StarSimError.self) { try out.check(names: ["other.json"]) }
    }

    @Test func outputNamesCannotEscapeTheirDirectory() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.cleanup() }
        let dir = OutputDirectory(temporary.path, option: "--trace")
        for name in ["../x", "a/b", "", ".", "..", "x\u{0}y", String(repeating: "a", count: 300)] {
            #expect(throws: StarSimError.self, "\(name)") { try dir.write("{}", name: name) }
        }
    }

    /// A trace directory that cannot be used is reported by `validate` (before the model is loaded),
    /// not at the end of `run`.
    @Test func validateChecksTheTraceDirectory() throws {
        let rootDirectory = try TemporaryDirectory()
        defer { rootDirectory.cleanup() }
        let root = rootDirectory.path
        try "x".write(toFile: root + "/notadir", atomically: true, encoding: .utf8)
        let scenario = root + "/s.yaml"
        try "prompt: {kind: passkey}\nmethods: [global]\ntrace: \(root)/notadir\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let f = try failure(["validate", scenario])
        #expect(f?.code == 2 && f?.message.contains("is a file") == true, "\(String(describing: f))")
    }
}
