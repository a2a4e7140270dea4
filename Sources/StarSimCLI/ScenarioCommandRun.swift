import Foundation
import StarSim

/// Loads, prepares and runs a scenario for `run` and `compare SCENARIO`: the one place their exit
/// codes are decided — a file, field or output path `Scenario.load` or `ScenarioRun.prepare` rejects,
/// and bad input found only while running (a fault after the end of every run), exit 2; any other
/// failure while running, exit 1 — and where an `--html` path is checked against the run's inputs
/// before anything runs.
struct ScenarioCommandRun {
    var file: String
    var html: String?
    /// Replace trace and report files StarSim did not write.
    var force = false
    /// No progress lines on stderr.
    var quiet = false

    /// Runs the scenario; `adjust` edits it after loading (command-line overrides), `prepared`
    /// adjusts the prepared run (the merge probe). Returns the run and the checked report file.
    func execute(adjust: (inout Scenario) -> Void = { _ in },
                 prepared configure: (inout ScenarioRun.Prepared) throws -> Void = { _ in }) throws -> (ScenarioRun, HTMLReportFile?) {
        var s: Scenario
        do { s = try Scenario.load(file: file) } catch { try fail("\(error)") }
        adjust(&s)
        let report = html.map { HTMLReportFile(path: $0, force: force, inputs: [file] + (s.modelFile.map { [$0] } ?? [])) }
        do { try report?.check() } catch { try fail("\(error)") }
        let quiet = self.quiet, lines = ProgressOutput()
        let progress: @Sendable (String) -> Void = { line in
            if !quiet { lines.line(line) }
        }
        var prepared: ScenarioRun.Prepared
        do {
            prepared = try ScenarioRun.prepare(s, force: force, progress: progress)
            try configure(&prepared)
        } catch {
            try fail("\(error)")
        }
        do {
            return (try ScenarioRun.execute(prepared, progress: progress), report)
        } catch let error as StarSimError where error.isInputError {
            try fail("\(error)")  // found only by running (a fault after the end of the run): still bad input
        } catch {
            try fail("\(file): \(error)", code: 1)
        }
    }
}
