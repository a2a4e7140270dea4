import ArgumentParser
import Foundation
import StarSim

/// `starsim merge DIR`: the whole sweep from its shards, as one unsharded run prints it.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge the shards of a sweep (project/plan --shard I/N --out DIR) into one result.",
        discussion: """
            Checks that every shard of the sweep is in DIR and complete (naming the missing and partial \
            ones), then prints the same table, CSV or JSON — and writes the same charts — as the sweep \
            run on one machine, byte for byte. A planner's sweep (`plan --shard`) prints the plan.
            """)

    @Argument(help: "The sweep directory the shards wrote (their --out).")
    var directory: String

    @OptionGroup var output: OutputOptions

    func run() throws {
        let merged: SweepMerge.Merged
        do { merged = try SweepMerge.load(directory: directory) } catch { try fail("\(error)") }
        if let planner = merged.plan {
            if output.plots != nil { try fail("--plots: a plan's sweep has no charts; merge prints the plan") }
            let plans = planner.plans(from: merged.results)
            switch output.format {
            case .table: print(planner.text(plans), terminator: "")
            case .csv: print(planner.csv(plans), terminator: "")
            case .json: print(planner.json(plans), terminator: "")
            }
            return
        }
        try output.plotDirectory.map { d in do { try d.check(names: CapacityPlots.fileNames) } catch { try fail("\(error)") } }
        let table = CapacityTable(results: merged.results)
        switch output.format {
        case .csv: print(table.csv(), terminator: "")
        case .json: print(table.json(), terminator: "")
        case .table: print(table.text(), terminator: "")
        }
        if let plots = output.plotDirectory {
            do {
                let paths = try CapacityPlots.write(table, to: plots)
                note("wrote " + paths.joined(separator: ", "))
            } catch {
                try fail("\(error)", code: 1)
            }
        }
        if merged.results.contains(where: { if case .failed = $0.status { return true } else { return false } }) {
            throw ExitCode(1)
        }
    }
}
