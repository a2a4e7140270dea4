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
            output.formatOptions.print(planner, planner.plans(from: merged.results))
            return
        }
        // Charts that cannot be written are refused before anything is printed (as `project` does).
        do { try output.plotDirectory?.check(names: CapacityPlots.fileNames) } catch { try fail("\(error)") }
        try output.emit(merged.results)
    }
}
