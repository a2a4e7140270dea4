import Foundation

/// A chart that renders itself as a standalone SVG document.
public protocol SVGChart: Sendable {
    /// The complete SVG document (UTF-8 text, starting with an XML declaration). Deterministic:
    /// identical charts give byte-identical output.
    func svg() -> String
}

extension SVGChart {
    /// Writes ``svg()`` to `path` (atomically), creating missing parent directories.
    /// - Throws: ``PlotError`` naming the path and the underlying cause when the directory cannot
    ///   be created or the file cannot be written.
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw PlotError(.cannotCreateDirectory(path: dir.path, reason: "\(error)"))
        }
        do {
            try Data(svg().utf8).write(to: url, options: .atomic)
        } catch {
            throw PlotError(.cannotWrite(path: path, reason: "\(error)"))
        }
    }
}

/// An error writing a chart to disk.
public struct PlotError: Error, CustomStringConvertible, Sendable {
    enum Kind: Sendable {
        case cannotCreateDirectory(path: String, reason: String)
        case cannotWrite(path: String, reason: String)
    }

    let kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    /// A message naming the path and what to check.
    public var description: String {
        switch kind {
        case .cannotCreateDirectory(let path, let reason):
            return "cannot create directory '\(path)' for the chart (\(reason)); check that no file has that name and that it is writable"
        case .cannotWrite(let path, let reason):
            return "cannot write chart to '\(path)' (\(reason)); check that the directory is writable and the path is not a directory"
        }
    }
}
