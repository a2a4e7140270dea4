import Foundation

/// The repository root (this file is `Tests/TestSupport/TemporaryFiles.swift`), for tests that read
/// `scenarios/`, `Docs/` or `../shared`-style files by path.
public let repositoryRoot: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path

/// A fresh directory under the system's temporary directory, named after the test; `cleanup()`
/// removes it.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ tag: String = #function) throws {
        let safe = tag.filter { $0.isLetter || $0.isNumber }
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("starsim-tests-\(safe)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` (subdirectories created) and returns the file's path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    /// Writes `bytes` to `name` (subdirectories created) and returns the file's path.
    @discardableResult
    public func write(_ name: String, _ bytes: Data) throws -> String {
        let file = "\(path)/\(name)"
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: file))
        return file
    }

    public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// A path for one file under the system's temporary directory, named after the test (the file is
/// not created); `cleanup()` removes it.
public struct TemporaryFile: Sendable {
    public let path: String

    public init(_ tag: String = #function, extension ext: String = "tmp") {
        let safe = tag.filter { $0.isLetter || $0.isNumber }
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("starsim-tests-\(safe)-\(UUID().uuidString).\(ext)").path
    }

    public func write(_ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    public func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}
