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
            Runs SmolLM2-135M for real across simulated hosts, and projects the same algorithms to
            128K–1M-token contexts on A100/H100 clusters. Start with:
              starsim run scenarios/default.yaml
            """,
        version: "0.1.0",
        subcommands: [Run.self, Generate.self, Eval.self, Project.self, Plan.self, Paper.self, Bench.self, Validate.self])
}

/// Prints a user-facing error and exits non-zero (2 for bad input, 1 for failures at run time).
func fail(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data(("starsim: error: " + message + "\n").utf8))
    exit(code)
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a scenario file without running it.")

    @Argument(help: "Scenario file (YAML).")
    var scenario: String

    func run() throws {
        do {
            let s = try Scenario.load(file: scenario)
            print("\(scenario): ok — \(s.methods.map(\.name).joined(separator: ", ")) on \(s.cluster.hosts) hosts")
        } catch {
            fail("\(error)")
        }
    }
}
