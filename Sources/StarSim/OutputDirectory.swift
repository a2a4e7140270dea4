#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Cluster
import Foundation
import Plots

/// A directory the user chose for StarSim's output files (traces, charts), and the one place those
/// files are written.
///
/// - Names are checked, not trusted: a file name must be non-empty, at most 200 bytes, without `/`,
///   NUL or control characters, and not `.` or `..` — so every file stays inside the directory.
/// - StarSim never replaces a file it did not write: an existing file is replaced only when it carries
///   StarSim's generator mark (``TraceWriter/generatorMark``, `SVGGenerator.mark`) in its first
///   bytes, or with `force` (`--force`).
/// - ``check(names:)`` reports, before any work, everything that would make the writes fail (not a
///   directory, not writable, a foreign file in the way), so `validate` and the start of `run` /
///   `project` catch it rather than the end.
/// - Files are written to a temporary name and renamed, so a failed write leaves no half file. Errors
///   name the path and the cause in plain words (`permission denied`, `read-only file system`).
public struct OutputDirectory: Sendable {
    /// The directory as the user gave it.
    public var path: String
    /// Where it came from, for messages (`--trace`, `trace`, `--plots`).
    public var option: String
    /// Replace existing files even without StarSim's mark.
    public var force: Bool

    public init(_ path: String, option: String, force: Bool = false) {
        self.path = path
        self.option = option
        self.force = force
    }

    /// Longest file name accepted, bytes.
    public static let maxNameBytes = 200

    /// Why `name` cannot be a file name inside the directory, or nil when it can.
    public static func problem(withName name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name == "." || name == ".." { return "is '\(name)', which names a directory" }
        if name.utf8.count > maxNameBytes { return "is \(name.utf8.count) bytes long; at most \(maxNameBytes)" }
        if name.contains("/") { return "contains '/'; a name may not contain path separators" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            return "contains a control character"
        }
        return nil
    }

    /// Checks that the directory exists or can be created, is a directory, is writable, and that none
    /// of `names` is a file StarSim may not replace.
    /// - Throws: ``StarSimError`` naming the option, the path and the cause.
    public func check(names: [String] = []) throws(StarSimError) {
        guard !path.isEmpty else { throw .invalid(option, "", "a directory path") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw .invalid(option, "\(path) is a file; expected a directory (or a path that does not exist yet)")
            }
            guard access(path, W_OK | X_OK) == 0 else {
                throw .invalid(option, "\(path) is not writable: \(Self.reason(errno))")
            }
        } else {
            // The nearest existing ancestor must be a writable directory.
            var ancestor = (path as NSString).deletingLastPathComponent
            while !ancestor.isEmpty, !FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
                ancestor = (ancestor as NSString).deletingLastPathComponent
            }
            if ancestor.isEmpty { ancestor = "." ; _ = FileManager.default.fileExists(atPath: ".", isDirectory: &isDirectory) }
            guard isDirectory.boolValue else {
                throw .invalid(option, "cannot create \(path): \(ancestor) is a file, not a directory")
            }
            guard access(ancestor, W_OK | X_OK) == 0 else {
                throw .invalid(option, "cannot create \(path): \(ancestor) is not writable: \(Self.reason(errno))")
            }
        }
        for name in names {
            if let problem = Self.problem(withName: name) {
                throw .invalid(option, "the output file name '\(name)' \(problem)")
            }
            let file = (path as NSString).appendingPathComponent(name)
            try checkReplaceable(file)
        }
    }

    /// Writes `text` as `name` inside the directory (creating the directory when missing) and returns
    /// the path. The text should carry StarSim's generator mark, so that a later run may replace it.
    /// - Throws: ``StarSimError`` naming the path and the cause.
    @discardableResult
    public func write(_ text: String, name: String) throws(StarSimError) -> String {
        if let problem = Self.problem(withName: name) {
            throw .invalid(option, "the output file name '\(name)' \(problem)")
        }
        try create()
        let file = (path as NSString).appendingPathComponent(name)
        try checkReplaceable(file)
        let temporary = (path as NSString).appendingPathComponent(".\(name.prefix(100)).\(getpid()).tmp")
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        } catch {
            unlink(temporary)
            throw .failed("cannot write \(file): \(Self.reason(Self.posixCode(of: error)))")
        }
        guard rename(temporary, file) == 0 else {
            let e = errno
            unlink(temporary)
            throw .failed("cannot write \(file): \(Self.reason(e))")
        }
        return file
    }

    /// Creates the directory (and missing parents).
    public func create() throws(StarSimError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return }
            throw .invalid(option, "\(path) is a file; expected a directory")
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            try check()  // names the cause in plain words when it can
            throw .failed("cannot create the directory \(path)")
        }
    }

    /// Throws when `file` exists and StarSim may not replace it.
    private func checkReplaceable(_ file: String) throws(StarSimError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue { throw .invalid(option, "\(file) is a directory; cannot write a file there") }
        if force { return }
        guard Self.isStarSimOutput(file) else {
            throw .invalid(option, "\(file) exists and was not written by StarSim; refusing to replace it "
                + "(move it away, choose another directory, or pass --force)")
        }
    }

    /// True when the first bytes of `file` carry a StarSim generator mark.
    public static func isStarSimOutput(_ file: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: file) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 512) else { return false }
        let text = String(decoding: head, as: UTF8.self)
        return text.contains(TraceWriter.generatorMark) || text.contains(SVGGenerator.mark) || text.hasPrefix(yamlMark)
            || legacyPrefixes.contains { text.hasPrefix($0) }
    }

    /// The first line of YAML files StarSim writes (fitted profiles).
    public static let yamlMark = "# generator: starsim"

    /// How StarSim's outputs began before they carried the mark (0.1.0), so that upgrading does not
    /// make a user's old traces and charts unreplaceable without `--force`.
    static let legacyPrefixes = [
        "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"",
    ]

    /// The POSIX error code behind a Foundation file error (EIO when there is none).
    private static func posixCode(of error: Error) -> Int32 {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        return EIO
    }

    /// `strerror` text for an errno, in plain words.
    static func reason(_ code: Int32) -> String {
        switch code {
        case EACCES, EPERM: return "permission denied"
        case EROFS: return "read-only file system"
        case ENOSPC: return "no space left on the device"
        case ENOTDIR: return "a part of the path is a file, not a directory"
        case ENAMETOOLONG: return "the path is too long"
        default: return String(cString: strerror(code))
        }
    }
}
