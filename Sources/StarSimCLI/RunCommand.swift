import ArgumentParser
import Foundation
import StarSim

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario: every method for real on the simulated cluster, side by side.",
        discussion: """
            Executes SmolLM2 across simulated hosts with each method of the scenario, then prints the \
            answers, whether they are right, simulated time per phase and host, bytes per link and \
            phase, and writes a Chrome trace per method. Progress goes to stderr.
            """)

    @Argument(help: "Scenario file (YAML), e.g. scenarios/default.yaml.")
    var scenario: String

    @Option(help: "Write traces to this directory (overrides the scenario's 'trace').")
    var traceDir: String?

    @Flag(help: "Print the text timeline of every method (small runs).")
    var timeline = false

    @OptionGroup var output: FormatOptions

    @Flag(name: .shortAndLong, help: "No progress lines on stderr.")
    var quiet = false

    @Flag(help: "Replace existing trace files even when StarSim did not write them.")
    var force = false

    @Option(name: .customLong("top-k"), help: "With --json: the top-k logits of the first generated step per method (1 to 1000).")
    var topK: Int = 5

    func run() throws {
        guard (1...1000).contains(topK) else { try fail("--top-k: \(topK) is out of range; expected 1 to 1000") }
        var s: Scenario
        do { s = try Scenario.load(file: scenario) } catch { try fail("\(error)") }
        if let traceDir { s.traceDirectory = traceDir }
        if timeline { s.timeline = true }
        let quiet = self.quiet, lines = ProgressOutput()
        let progress: @Sendable (String) -> Void = { line in
            if !quiet { lines.line(line) }
        }
        // Everything `prepare` rejects is bad input (exit 2); a failure while running is exit 1.
        let prepared: ScenarioRun.Prepared
        do { prepared = try ScenarioRun.prepare(s, force: force, progress: progress) } catch { try fail("\(error)") }
        let result: ScenarioRun
        do {
            result = try ScenarioRun.execute(prepared, progress: progress)
        } catch let error as StarSimError where error.isInputError {
            try fail("\(error)")  // found only by running (a fault after the end of the run): still bad input
        } catch {
            try fail("\(scenario): \(error)", code: 1)
        }
        switch output.format {
        case .json:
            do { print(try ScenarioReport.json(result, topK: topK)) } catch { try fail("cannot encode JSON: \(error)", code: 1) }
        case .csv:
            print(ScenarioReport.csv(result), terminator: "")
        case .table:
            print(ScenarioReport.text(result))
        }
    }
}
