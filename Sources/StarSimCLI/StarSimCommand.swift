import ArgumentParser
import Foundation
import StarSim

/// `starsim`: the command-line front end. A thin shell over the `StarSim` library: each subcommand
/// parses and validates its options, calls the library, prints, and maps errors to exit codes.
@main
struct StarSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "starsim",
        abstract: "Star Attention, Ring Attention and exact global attention on a simulated cluster.",
        discussion: """
            Runs SmolLM2-135M for real across simulated hosts, and projects the same algorithms to \
            128K–1M-token contexts on A100/H100 clusters. Start with:
              starsim run scenarios/default.yaml
            """,
        version: StarSimVersion.current,
        subcommands: [Run.self, Generate.self, Eval.self, Project.self, Compare.self, Plan.self, Merge.self, Calibrate.self, Paper.self, Profiles.self, Bench.self, Validate.self])

    /// Parses, runs, and turns a ``CommandFailure`` into `starsim: error: …` and its exit code; other
    /// errors (usage, `--help`) go to the argument parser as usual.
    static func main() async {
        do {
            var command = try parseAsRoot(rewritten(Array(CommandLine.arguments.dropFirst())))
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data(("starsim: error: " + failure.message + "\n").utf8))
            Foundation.exit(failure.code)
        } catch {
            exit(withError: error)
        }
    }
}

/// `--narrate=all` and `--narrate=summary` (an option whose value may be left out, which the
/// argument parser has no spelling for) as the flags `--narrate-all` and `--narrate`.
func rewritten(_ arguments: [String]) -> [String] {
    arguments.map { a in
        switch a {
        case "--narrate=all": "--narrate-all"
        case "--narrate=summary": "--narrate"
        default: a
        }
    }
}

/// A user-facing failure of a command: the message (naming the file, field or value and what was
/// expected) and the exit code (2 for bad input, 1 for failures at run time). Commands throw it, so
/// tests can check messages in process; `StarSimCommand.main` prints it and exits.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var description: String { message }
}

/// Prints a progress or status line on stderr (stdout stays the command's result).
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Stops the command with a user-facing error (2 for bad input, 1 for failures at run time): throws
/// a ``CommandFailure``.
func fail(_ message: String, code: Int32 = 2) throws -> Never {
    throw CommandFailure(message: message, code: code)
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a scenario file without running it.",
        discussion: """
            Checks every field, resolves the device and link profiles, loads the model to tokenize the \
            prompt and builds each method's plan (block/anchor sizes, hosts), so that anything `run` \
            would reject is reported here first. --syntax-only skips everything after the fields.
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String

    @Flag(help: "Check the fields only: do not resolve profiles, load the model or build the plans.")
    var syntaxOnly = false

    func run() throws {
        do {
            let s = try Scenario.load(file: scenario)
            if syntaxOnly {
                print("\(scenario): fields ok — \(s.methods.map(\.name).joined(separator: ", ")) on \(s.cluster.hostCounts.map(String.init).joined(separator: ", ")) hosts")
                return
            }
            let p = try ScenarioRun.prepare(s)
            print("\(scenario): ok — prompt \(p.prompt.summary)")
            for m in p.methods {
                print("  \(m.method.name) on \(m.hosts) host\(m.hosts == 1 ? "" : "s"): \(m.plan)")
            }
        } catch {
            try fail("\(error)")
        }
    }
}
