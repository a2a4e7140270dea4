import Foundation

/// The one way StarSim reads a file a user names (configuration files, `config.json`, calibration
/// data, saved reports): it must be a regular file, readable, and at most `limit` bytes — checked
/// before and while reading, so a directory, `/dev/zero` or a huge file gives an error instead of a
/// hang or unbounded memory. Errors name the file and say what it is instead.
public enum InputFile {
    /// The file's bytes.
    /// - Parameters:
    ///   - limit: largest size accepted, bytes.
    ///   - expected: what the file should be, for messages (`a YAML file`, `a config.json`).
    /// - Throws: ``ConfigError`` naming the file.
    public static func read(_ path: String, limit: Int, expected: String) throws(ConfigError) -> Data {
        func fail(_ message: String) -> ConfigError { ConfigError(file: path, field: nil, line: nil, message: message) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw fail("file not found") }
        if isDirectory.boolValue { throw fail("is a directory; expected \(expected)") }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        if let type = attributes?[.type] as? FileAttributeType, type != .typeRegular {
            throw fail("is not a regular file (a device, pipe or socket); expected \(expected)")
        }
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        guard size <= limit else { throw fail("is \(size) bytes; \(expected) is limited to \(describe(limit))") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw fail("cannot be opened for reading (permission denied?)")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: limit + 1) ?? Data() } catch {
            throw fail("cannot be read: \(error.localizedDescription)")
        }
        guard data.count <= limit else { throw fail("is larger than \(describe(limit)), the limit for \(expected)") }
        if data.isEmpty { throw fail("is empty; expected \(expected)") }
        return data
    }

    /// Standard input, up to `limit` bytes (e.g. a prompt piped in).
    /// - Throws: ``ConfigError`` (file `<stdin>`) when more arrives.
    public static func readStandardInput(limit: Int, expected: String) throws(ConfigError) -> Data {
        var data = Data()
        while data.count <= limit {
            let chunk = FileHandle.standardInput.readData(ofLength: min(1 << 20, limit + 1 - data.count))
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        guard data.count <= limit else {
            throw ConfigError(file: "<stdin>", field: nil, line: nil, message: "is larger than \(describe(limit)), the limit for \(expected)")
        }
        return data
    }

    /// `4 MiB`, `512 KiB`, `100 bytes`.
    static func describe(_ bytes: Int) -> String {
        if bytes >= 1 << 20, bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10, bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }
}
