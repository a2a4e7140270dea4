import ArgumentParser
import StarSim

/// How a command prints its result: a table for people (default), CSV or JSON for programs.
/// The flags exclude each other (`--csv --json` is a usage error, exit 64).
enum OutputFormat: String, EnumerableFlag {
    case table, csv, json

    static func help(for value: OutputFormat) -> ArgumentHelp? {
        switch value {
        case .table: "Print a table (default)."
        case .csv: "Print CSV instead of a table."
        case .json: "Print JSON instead of a table."
        }
    }
}

/// `--table` / `--csv` / `--json`: the one way every command that prints results chooses a format
/// (`run`, `eval`, `project`, `plan`, `paper`).
struct FormatOptions: ParsableArguments {
    @Flag(exclusivity: .exclusive)
    var format: OutputFormat = .table

    /// Prints a plan (`plan`, and `merge` of a planner's sweep) in the chosen format.
    func print(_ planner: CapacityPlanner, _ plans: [CapacityPlanner.MethodPlan]) {
        switch format {
        case .table: Swift.print(planner.text(plans), terminator: "")
        case .csv: Swift.print(planner.csv(plans), terminator: "")
        case .json: Swift.print(planner.json(plans), terminator: "")
        }
    }
}

/// The output options of commands that also write charts: the printed format, a directory for SVG
/// charts, and `--force` to replace files StarSim did not write.
struct OutputOptions: ParsableArguments {
    @OptionGroup var formatOptions: FormatOptions
    var format: OutputFormat { formatOptions.format }
    @Option(help: "Write SVG charts into this directory.")
    var plots: String?
    @Flag(help: "Replace existing output files even when StarSim did not write them.")
    var force = false

    /// Prints projection results in the chosen format, writes the charts when `--plots` was given,
    /// and exits 1 when any configuration failed (`project` and `merge` print sweeps this one way).
    func emit(_ results: [ProjectionResult]) throws {
        let table = CapacityTable(results: results)
        switch format {
        case .csv: print(table.csv(), terminator: "")
        case .json: print(table.json(), terminator: "")
        case .table: print(table.text(), terminator: "")
        }
        if let plots = plotDirectory {
            do {
                let paths = try CapacityPlots.write(table, to: plots)
                note("wrote " + paths.joined(separator: ", "))
            } catch {
                try fail("\(error)", code: 1)
            }
        }
        if results.contains(where: { if case .failed = $0.status { return true } else { return false } }) {
            throw ExitCode(1)
        }
    }

    /// `--plots`, as an output directory.
    var plotDirectory: OutputDirectory? { plots.map { OutputDirectory($0, option: "--plots", force: force) } }
}

/// Checks a number from the command line against its documented range (`InputLimits`), so a value
/// out of range is a clear input error (exit 2) naming the option, the value and the range.
func checked(_ value: Int, _ option: String, _ range: ClosedRange<Int>, _ what: String = "") throws -> Int {
    guard range.contains(value) else {
        let unit = what.isEmpty ? "" : " \(what)"
        try fail("\(option): \(value) is out of range; expected\(unit) in \(range.lowerBound)...\(range.upperBound)")
    }
    return value
}
