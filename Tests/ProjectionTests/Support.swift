import Foundation
import Projection
import Testing

/// The repository root (this file is `Tests/ProjectionTests/Support.swift`).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A fresh temporary directory, removed by `cleanup()`.
struct TempDirectory {
    let path: String
    init(_ tag: String = #function) throws {
        let safe = tag.filter { $0.isLetter || $0.isNumber }
        path = FileManager.default.temporaryDirectory.appendingPathComponent("projtests-\(safe)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func write(_ name: String, _ text: String) throws -> String {
        let file = "\(path)/\(name)"
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Expects `body` to throw a `ProjectionError` whose message contains every string in `parts`.
func expectProjectionError(
    _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected a ProjectionError containing \(parts), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ProjectionError {
        for p in parts where !error.description.contains(p) {
            Issue.record("error message lacks '\(p)': \(error)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a ProjectionError, got \(error)", sourceLocation: sourceLocation)
    }
}

func relativeDifference(_ a: Double, _ b: Double) -> Double { abs(a - b) / max(abs(b), 1e-300) }
