import ArgumentParser
import Foundation
import StarSim

/// `starsim paper`: the paper's tables next to projections of the paper's own setup.
struct Paper: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the paper's Table 6 and Star-over-Ring speedups next to the projection, with errors.",
        discussion: """
            Projects scenarios/paper/llama8b-1node.yaml, llama8b-multinode.yaml, llama70b-1node.yaml and \
            llama70b-multinode.yaml (A100 hosts, layers split over the GPUs of a host, naive contiguous \
            ring, blocks and hosts as in the paper) and compares. Assumptions (sampled tokens, the \
            framework overhead in scenarios/paper/profiles/devices/a100-80gb-hf.yaml) are printed and \
            documented in Docs/Capacity.md. Two parameters of scenarios/paper/profiles are fitted to the \
            Llama-3.1-8B rows of Table 6 (`--fit` reruns that fit); every cell says whether the fit saw \
            it. Then the modern variant (modern-h100.yaml: H100, zigzag ring).
            """)

    @Option(help: "Directory holding the paper scenario files.")
    var directory: String = "scenarios/paper"
    @OptionGroup var output: FormatOptions
    @Flag(help: "Skip the modern (H100, zigzag) variant.")
    var noModern = false
    @Flag(help: "Refit the per-message overhead and the ring-step efficiency to the 8B Table 6 rows and print them.")
    var fit = false
    @Flag(help: ArgumentHelp(
        "For every ring-dependent cell, print the ring_attention_efficiency that would reproduce it (about a minute on two cores).",
        discussion: "A ring cost that is a fixed fraction of flash attention would imply one value for every cell."))
    var implied = false

    func validate() throws {
        if fit && implied { throw ValidationError("--fit and --implied are separate runs; give one of them") }
    }

    func run() throws {
        let files = ["llama8b-1node", "llama8b-multinode", "llama70b-1node", "llama70b-multinode"]
            .map { "\(directory)/\($0).yaml" }
        if fit {
            do {
                print(PaperComparison.text(try PaperComparison.fit(files: files)), terminator: "")
            } catch {
                try fail("\(error)")
            }
            return
        }
        if implied {
            let progress = ProgressOutput()
            do {
                let cells = try PaperComparison.impliedRingEfficiencies(files: files) { done, total in
                    progress.update("cells \(done)/\(total)", done: done, total: total)
                }
                progress.finish()
                switch output.format {
                case .csv: print(PaperComparison.csv(cells), terminator: "")
                case .json: print(PaperComparison.json(cells), terminator: "")
                case .table: print(PaperComparison.text(cells), terminator: "")
                }
            } catch {
                try fail("\(error)")
            }
            return
        }
        let report: PaperComparison.Report
        let progress = ProgressOutput()
        do {
            report = try PaperComparison.compare(files: files) { done, total in
                progress.update("projecting \(done)/\(total)", done: done, total: total)
            }
        } catch {
            try fail("\(error)")
        }
        switch output.format {
        case .csv:
            print(PaperComparison.csv(report), terminator: "")
            return
        case .json:
            print(PaperComparison.json(report), terminator: "")
            return
        case .table: break
        }
        print(PaperComparison.text(report))
        print(PaperComparison.explanation)
        if noModern { return }
        let modern = "\(directory)/modern-h100.yaml"
        do {
            let sweep = try ProjectionSweep.load(file: modern)
            let results = CapacityProjection.sweep(sweep.configs(), parallel: true)
            print("\nModern variant (\(modern)): H100 SXM, NVLink 4 in a host, IB NDR between hosts, zigzag ring, "
                  + "no HF framework overhead (the calibrated 6.7 us kernel gap only, no per-message cost, ring steps at flash efficiency, overlapped), "
                  + "\(sweep.generate) sampled tokens")
            print(CapacityTable(results: results).text(), terminator: "")
        } catch {
            try fail("\(error)")
        }
    }
}
