import ArgumentParser
import Foundation
import Testing
@testable import StarSimCLI

/// The command line's help and argument errors, in process (no subprocess, no exit).
@Suite struct CommandLineTests {
    /// Help paragraphs are written as one paragraph each (`\` continuations), so the parser wraps them
    /// at the terminal's width instead of keeping the source's line breaks mid-sentence.
    @Test func helpParagraphsAreNotBrokenMidSentence() {
        let wide = 400
        #expect(StarSimCommand.helpMessage(for: Run.self, columns: wide)
            .contains("then prints the answers, whether they are right, simulated time per phase and host"))
        #expect(StarSimCommand.helpMessage(for: Validate.self, columns: wide)
            .contains("loads the model to tokenize the prompt and builds each method's plan"))
        #expect(StarSimCommand.helpMessage(columns: wide)
            .contains("projects the same algorithms to 128K–1M-token contexts on A100/H100 clusters"))
    }

    /// `scenarios/default.yaml` tells users to run `starsim profiles`.
    @Test func profilesCommandExists() {
        #expect(StarSimCommand.configuration.subcommands.contains { $0 == Profiles.self })
        #expect(StarSimCommand.helpMessage(for: Profiles.self).contains("--profiles"))
    }

    @Test func unknownOptionsAndBadValuesAreNamed() {
        do {
            _ = try StarSimCommand.parseAsRoot(["run", "scenarios/default.yaml", "--bogus"])
            Issue.record("--bogus was accepted")
        } catch {
            #expect(StarSimCommand.message(for: error).contains("--bogus"))
            #expect(StarSimCommand.exitCode(for: error).rawValue == 64)
        }
        do {
            _ = try StarSimCommand.parseAsRoot(["bench", "model", "--decode-tokens", "many"])
            Issue.record("a non-numeric --decode-tokens was accepted")
        } catch {
            #expect(StarSimCommand.message(for: error).contains("many"))
        }
    }

    /// Every command that prints results chooses its format the same way: `--table`, `--csv` or
    /// `--json`, exclusive (a usage error, exit 64, when two are given).
    @Test func everyResultCommandTakesTheSameExclusiveFormatFlags() {
        let commands: [(String, [String])] = [
            ("run", ["run", "scenarios/default.yaml"]), ("eval", ["eval"]), ("project", ["project"]),
            ("plan", ["plan", "--model", "llama-3.1-8b", "--context", "128K"]), ("paper", ["paper"]), ("merge", ["merge", "runs/x"]),
        ]
        for (name, arguments) in commands {
            for flag in ["--table", "--csv", "--json"] {
                #expect(throws: Never.self, "\(name) \(flag)") { _ = try StarSimCommand.parseAsRoot(arguments + [flag]) }
            }
            do {
                _ = try StarSimCommand.parseAsRoot(arguments + ["--csv", "--json"])
                Issue.record("\(name) accepted --csv --json")
            } catch {
                #expect(StarSimCommand.exitCode(for: error).rawValue == 64, "\(name)")
            }
        }
        // --shard and --out go together (usage errors).
        for arguments in [["project", "--shard", "0/2"], ["project", "--out", "x"], ["plan", "--model", "llama-3.1-8b", "--context", "16K", "--shard", "0/2"]] {
            do {
                _ = try StarSimCommand.parseAsRoot(arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                #expect(StarSimCommand.exitCode(for: error).rawValue == 64, "\(arguments)")
            }
        }
        do {
            _ = try StarSimCommand.parseAsRoot(["eval", "--markdown", "--json"])
            Issue.record("eval accepted --markdown --json")
        } catch {
            #expect(StarSimCommand.message(for: error).contains("--markdown"))
            #expect(StarSimCommand.exitCode(for: error).rawValue == 64)
        }
        do {
            _ = try StarSimCommand.parseAsRoot(["paper", "--fit", "--implied"])
            Issue.record("paper accepted --fit --implied")
        } catch {
            #expect(StarSimCommand.message(for: error).contains("--fit and --implied"))
            #expect(StarSimCommand.exitCode(for: error).rawValue == 64)
        }
        #expect(throws: Never.self) { _ = try StarSimCommand.parseAsRoot(["paper", "--implied", "--json"]) }
    }

    /// Errors of a command's own checks are thrown (`CommandFailure`), not exited: message and code
    /// are checked here in process.
    @Test func commandErrorsNameTheInputAndCarryTheExitCode() throws {
        func failure(_ arguments: [String]) throws -> CommandFailure? {
            var command = try StarSimCommand.parseAsRoot(arguments)
            do { try command.run() } catch let f as CommandFailure { return f }
            return nil
        }
        let profiles = try failure(["profiles", "--profiles", "/no/such/dir"])
        #expect(profiles?.message == "--profiles: /no/such/dir: profile directory not found" && profiles?.code == 2)
        let validate = try failure(["validate", "/no/such/scenario.yaml"])
        #expect(validate?.message.contains("/no/such/scenario.yaml") == true && validate?.code == 2)
        let project = try failure(["project", "--combine", "bogus"])
        #expect(project?.message == "--combine: 'bogus' is invalid; expected pipeline or tensor-parallel")
        let merge = try failure(["merge", "/no/such/sweep"])
        #expect(merge?.message == "merge: /no/such/sweep is not a directory" && merge?.code == 2)
        let shard = try failure(["project", "--shard", "5/4", "--out", "/tmp/never-written"])
        #expect(shard?.message.contains("--shard") == true && shard?.code == 2)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written"))
        let peer = try failure(["bench", "peer", "--rounds", "0"])
        #expect(peer?.message == "--rounds: expected 1…20, got 0")
    }
}
