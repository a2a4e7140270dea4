import ArgumentParser
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
}
