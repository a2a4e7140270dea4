import ArgumentParser
import Foundation
import StarSim

/// `starsim calibrate`: check the cost model against a user's own measurements, or fit a device
/// profile to them.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the projection's cost model against measured kernel timings, or fit a device profile to them.",
        discussion: """
            FILE.json is a calibration file (format in Docs/Accuracy.md; profiles/calibration/h100-llama8b-layer.json \
            is one, tools/calibration/measure.py makes one on your GPU). Its `model` block gives the shape, so \
            any Llama-family model can be checked. Examples:
              starsim calibrate check profiles/calibration/h100-llama8b-layer.json --device h100-sxm
              starsim calibrate fit my-gpu.json --device h100-sxm --out my-profiles --name my-h100
            """,
        subcommands: [CalibrateCheck.self, CalibrateFit.self])
}

/// The device options of both subcommands.
struct CalibrationDeviceOptions: ParsableArguments {
    @Option(help: "Device profile to check or start from (`starsim profiles` lists them).")
    var device: String = "h100-sxm"
    @Option(help: "Directory of user device/link profiles.")
    var profiles: String?

    func spec() throws -> DeviceSpec {
        do {
            let catalog = ProfileCatalog(userDirectory: profiles)
            try catalog.checkUserDirectory()
            return try catalog.device(named: device)
        } catch {
            try fail("--device: \(error)")
        }
    }
}

struct CalibrateCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Measured vs predicted for every point of a calibration file, then the error per kind of point.",
        discussion: """
            Nothing is fitted: the device profile is used as it is. Per point: measured and predicted seconds \
            and the error; per kind (prefill layer, linear, attention causal/full, decode, device peaks): \
            median and max |error| and how many points are within 10% and 25%. Item kinds the model does not \
            map are listed as not predicted.
            """)

    @Argument(help: "Calibration file (JSON).")
    var file: String
    @OptionGroup var hardware: CalibrationDeviceOptions
    @Flag(help: "Also cross-validate: for each kind, fit on the other kinds and report the error on the held-out one (about a second).")
    var crossValidate = false
    @OptionGroup var output: FormatOptions

    func run() throws {
        let device = try hardware.spec()
        let loaded: (shape: ModelShape, points: [CalibrationPoint], ignored: [String])
        do { loaded = try Calibration.load(file: file) } catch { try fail("\(error)") }
        let (shape, points) = (loaded.shape, loaded.points)
        let report = Calibration.check(points: points, shape: shape, device: device, file: file, ignored: loaded.ignored)
        print(CalibrationText.render(report, device: device.name, format: output.format), terminator: "")
        guard crossValidate else { return }
        let folds = Calibration.crossValidate(points: points, shape: shape, device: device)
        switch output.format {
        case .table:
            print("\nleave-one-kind-out (fit on the other kinds, error on the held-out kind):")
            var rows = [["held out", "points", "median", "max", "within 10%", "within 25%"]]
            for fold in folds {
                let e = CalibrationErrorSummary(fold.rows)
                rows.append([fold.heldOut.rawValue, "\(e.points)", String(format: "%.1f%%", 100 * e.median), String(format: "%.1f%%", 100 * e.max),
                             "\(e.within10)/\(e.points)", "\(e.within25)/\(e.points)"])
            }
            print(TextTable.lines(rows).joined(separator: "\n"))
        case .csv:
            print(CSV.document(header: ["held_out", "point", "measured_s", "predicted_s", "error"], rows: folds.flatMap { fold in
                fold.rows.map { [fold.heldOut.rawValue, $0.point.description, "\($0.point.seconds)", "\($0.predictedSeconds)", "\($0.relativeError)"] }
            }), terminator: "")
        case .json:
            struct Fold: Encodable { var heldOut: String; var summary: CalibrationErrorSummary }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let data = (try? encoder.encode(folds.map { Fold(heldOut: $0.heldOut.rawValue, summary: CalibrationErrorSummary($0.rows)) })) ?? Data("[]".utf8)
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

struct CalibrateFit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit a device profile's efficiencies and kernel overhead to a calibration file and write the profile.",
        discussion: """
            Starts from --device's peaks (spec values: FLOP/s, bandwidth, memory), fits the measurable \
            efficiency parameters and the per-kernel overhead (Docs/Projection.md), prints the fit's \
            per-point errors and writes DIR/NAME.yaml, labelled `calibrated` with the file it came from. Use \
            it with --profiles DIR --device NAME.
            """)

    @Argument(help: "Calibration file (JSON).")
    var file: String
    @OptionGroup var hardware: CalibrationDeviceOptions
    @Option(help: ArgumentHelp("Directory to write the fitted profile into.", valueName: "dir"))
    var out: String
    @Option(help: "Name of the new profile (default: DEVICE-fitted).")
    var name: String?
    @Flag(help: "Replace an existing profile file even when StarSim did not write it.")
    var force = false
    @OptionGroup var output: FormatOptions

    func run() throws {
        var device = try hardware.spec()
        let profileName = name ?? device.name + "-fitted"
        let directory = OutputDirectory(out, option: "--out", force: force)
        let fileName = profileName + ".yaml"
        do { try directory.check(names: [fileName]) } catch { try fail("\(error)") }
        let result: CalibrationResult
        do { result = try Calibration.fit(file: file, device: device) } catch { try fail("\(error)") }
        device = result.device
        device.name = profileName
        device.summary = "\(device.summary) — efficiencies fitted to \(file)"
        let path: String
        do { path = try directory.write(OutputDirectory.yamlMark + "\n" + device.yaml, name: fileName) } catch { try fail("\(error)", code: 1) }
        print(CalibrationText.render(result.report, device: profileName, format: output.format), terminator: "")
        if output.format == .table { print("wrote \(path) (use: --profiles \(out) --device \(profileName))") }
    }
}

/// A calibration report as a table, CSV or JSON.
enum CalibrationText {
    static func render(_ r: CalibrationReport, device: String, format: OutputFormat) -> String {
        switch format {
        case .csv:
            return CSV.document(
                header: ["point", "kind", "latency", "measured_s", "predicted_s", "error"],
                rows: r.rows.map { [$0.point.description, $0.point.group.rawValue, $0.point.group.latency, "\($0.point.seconds)",
                                    "\($0.predictedSeconds)", "\($0.relativeError)"] })
        case .json:
            struct Point: Encodable { var point: String, kind: String, latency: String, measuredSeconds: Double, predictedSeconds: Double, error: Double }
            struct Group: Encodable { var kind: String, latency: String, summary: CalibrationErrorSummary }
            struct Document: Encodable {
                var file: String, device: String, points: [Point], kinds: [Group], overall: CalibrationErrorSummary
                var notPredicted: [String]
            }
            let doc = Document(
                file: r.file, device: device,
                points: r.rows.map { Point(point: $0.point.description, kind: $0.point.group.rawValue, latency: $0.point.group.latency,
                                           measuredSeconds: $0.point.seconds, predictedSeconds: $0.predictedSeconds, error: $0.relativeError) },
                kinds: r.groupSummaries.map { Group(kind: $0.group.rawValue, latency: $0.group.latency, summary: $0.summary) },
                overall: r.overall, notPredicted: r.ignoredKinds)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            return String(decoding: (try? encoder.encode(doc)) ?? Data("{}".utf8), as: UTF8.self) + "\n"
        case .table:
            var s = "\(r.file) on \(device): measured vs predicted\n\n"
            var rows = [["point", "kind", "measured", "predicted", "error"]]
            for row in r.rows {
                rows.append([row.point.description, row.point.group.rawValue, seconds(row.point.seconds), seconds(row.predictedSeconds),
                             String(format: "%+.1f%%", 100 * row.relativeError)])
            }
            s += TextTable.lines(rows).joined(separator: "\n") + "\n"
            s += "\nper kind (|error|):\n"
            var kinds = [["kind", "latency", "points", "median", "max", "within 10%", "within 25%"]]
            for (g, e) in r.groupSummaries + [(nil, r.overall)] as [(CalibrationPoint.Group?, CalibrationErrorSummary)] {
                kinds.append([g?.rawValue ?? "all", g?.latency ?? "", "\(e.points)", String(format: "%.1f%%", 100 * e.median),
                              String(format: "%.1f%%", 100 * e.max), "\(e.within10)/\(e.points)", "\(e.within25)/\(e.points)"])
            }
            s += TextTable.lines(kinds).joined(separator: "\n") + "\n"
            if !r.ignoredKinds.isEmpty { s += "\nnot predicted (kinds this model does not map): \(r.ignoredKinds.joined(separator: ", "))\n" }
            return s
        }
    }

    static func seconds(_ x: Double) -> String {
        x >= 1 ? String(format: "%.3f s", x) : x >= 1e-3 ? String(format: "%.3f ms", x * 1e3) : String(format: "%.1f µs", x * 1e6)
    }
}
