import Foundation
import Projection
import Testing
import TestSupport

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
