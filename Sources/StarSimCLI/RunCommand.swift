import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

    @Option(help: "Write one self-contained HTML report (lanes per host and link, messages, critical path, memory) to this file.")
    var html: String?

    @OptionGroup var output: FormatOptions

    @Flag(name: .shortAndLong, help: "No progress lines on stderr.")
    var quiet = false

    @Flag(help: "Replace existing trace files even when StarSim did not write them.")
    var force = false

    @Flag(help: "Tell the run as a story before the results: who encodes what, every message, who waits for whom, the phase-2 merge with numbers (repeated layers folded; --narrate=all tells every step).")
    var narrate = false

    @Flag(name: .customLong("narrate-all"), help: .hidden)
    var narrateAll = false

    @Option(name: .customLong("narrate-layer"), help: "With --narrate: the layer whose phase-2 merge is shown (default: the middle layer).")
    var narrateLayer: Int?

    @Option(name: .customLong("narrate-head"), help: "With --narrate: the query head whose merge is shown (default 0).")
    var narrateHead: Int?

    @Flag(help: "Predict, then reveal: before the results, estimate key numbers of this run on the terminal, then see the answer, your error and the formula.")
    var quiz = false

    @Option(name: .customLong("top-k"), help: "With --json: the top-k logits of the first generated step per method (1 to 1000).")
    var topK: Int = 5

    /// `--narrate` / `--narrate=all`, or nil.
    var narration: Narration.Detail? { narrateAll ? .all : narrate ? .summary : nil }

    /// The teaching modes' rules, checked before anything runs: they print for a person (not with
    /// `--csv`/`--json`), the probe options need `--narrate`, and `--quiz` needs a terminal to ask on.
    func checkModes(standardInputIsTerminal: Bool) throws {
        if narration != nil || quiz, output.format != .table {
            try fail("\(quiz ? "--quiz" : "--narrate") tells the run on the terminal; it cannot be combined with --\(output.format.rawValue)")
        }
        if narration == nil, narrateLayer != nil || narrateHead != nil {
            try fail("--narrate-layer and --narrate-head choose what --narrate shows; add --narrate")
        }
        if quiz, !standardInputIsTerminal {
            try fail("--quiz asks questions and needs a terminal, but standard input is not one; run without --quiz (or from a terminal)")
        }
    }

    func run() throws {
        guard (1...1000).contains(topK) else { try fail("--top-k: \(topK) is out of range; expected 1 to 1000") }
        try checkModes(standardInputIsTerminal: isatty(STDIN_FILENO) != 0)
        let narration = self.narration
        let (traceDir, timeline, narrateLayer, narrateHead) = (self.traceDir, self.timeline, self.narrateLayer, self.narrateHead)
        let (result, report) = try ScenarioCommandRun(file: scenario, html: html, force: force, quiet: quiet).execute(
            adjust: { s in
                if let traceDir { s.traceDirectory = traceDir }
                if timeline { s.timeline = true }
            },
            prepared: { try $0.setProbe(layer: narrateLayer, head: narrateHead) })
        if let report {
            do { note("wrote " + (try report.write(HTMLReport(run: result)))) } catch { try fail("\(error)", code: 1) }
        }
        if quiz {
            let questions = Quiz.questions(result)
            if questions.questions.isEmpty {
                note("--quiz: this scenario has no Star or Ring run on several hosts to ask about")
            } else {
                print("Predict, then reveal — \(questions.questions.count) questions about this run before its results.\n")
                questions.conduct(read: { readLine() }, write: { line in
                    if line.hasSuffix(": ") { print(line, terminator: ""); fflush(nil) } else { print(line) }
                })
            }
        }
        if let narration { print(Narration.text(result, detail: narration)) }
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
