#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Projection

/// One reusable file per fuzzer process for readers that only take a path: each input is written
/// over it (truncated first) before the reader opens it. It lives in a private directory
/// (`$TMPDIR`, else `/dev/shm`, else `/tmp`, with the process id in its name) so that paths a
/// fuzzed file names relative to itself cannot reach another harness's input; the directory is
/// removed at a normal exit; those of processes that crashed are removed by the next one.
public final class ScratchFile: @unchecked Sendable {
    // @unchecked Sendable: libFuzzer calls the harness from one thread; `path` is immutable.
    /// The file's path.
    public let path: String
    /// Its directory.
    public let directory: String

    /// Creates `<dir>/starsim-fuzz-<tag>-<pid>/<name>` (the file itself is created by `write`).
    public init(tag: String, name: String) {
        var base = "/tmp"
        if let t = getenv("TMPDIR").map({ String(cString: $0) }), !t.isEmpty {
            base = t
        } else if access("/dev/shm", W_OK) == 0 {
            base = "/dev/shm"
        }
        Self.removeStale(in: base, prefix: "starsim-fuzz-\(tag)-")
        directory = "\(base)/starsim-fuzz-\(tag)-\(getpid())"
        path = "\(directory)/\(name)"
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            fatalError("fuzz: cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        ScratchFile.registered.append(directory)
        if ScratchFile.registered.count == 1 { atexit { ScratchFile.removeAll() } }
    }

    /// Replaces the file's contents with `size` bytes at `data`; returns `path`.
    @discardableResult
    public func write(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
        Self.writeFile(path, UnsafeRawBufferPointer(start: data, count: size))
        return path
    }

    /// Writes `bytes` to `path` (created or truncated); stops the process on failure.
    public static func writeFile(_ path: String, _ bytes: UnsafeRawBufferPointer) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fatalError("fuzz: cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { fatalError("fuzz: short write to \(path): \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    /// Writes `bytes` to `path`.
    public static func writeFile(_ path: String, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeFile(path, $0) }
    }

    nonisolated(unsafe) private static var registered: [String] = []

    private static func removeAll() {
        for dir in registered { remove(dir) }
    }

    /// Removes `<base>/<prefix><pid>` directories whose process is gone.
    private static func removeStale(in base: String, prefix: String) {
        for name in entries(base) where name.hasPrefix(prefix) {
            if let pid = pid_t(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH {
                remove("\(base)/\(name)")
            }
        }
    }

    /// Removes `dir` and the files (or links) in it.
    private static func remove(_ dir: String) {
        for name in entries(dir) { unlink("\(dir)/\(name)") }
        rmdir(dir)
    }

    private static func entries(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

private func systemWrite(_ fd: CInt, _ p: UnsafeRawPointer, _ n: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, p, n)
    #else
    return Darwin.write(fd, p, n)
    #endif
}

/// The harness's command line as libFuzzer's `LLVMFuzzerInitialize` sees it.
public enum FuzzArguments {
    /// The value of `--NAME=VALUE` among `argv` (libFuzzer ignores flags that start with `--`).
    public static func value(
        _ name: String, argc: UnsafeMutablePointer<CInt>, argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
    ) -> String? {
        let prefix = "--\(name)="
        for i in 0..<Int(argc.pointee) {
            guard let p = argv.pointee[i] else { continue }
            let arg = String(cString: p)
            if arg.hasPrefix(prefix) { return String(arg.dropFirst(prefix.count)) }
        }
        return nil
    }
}

/// Whether `STARSIM_FUZZ_VERBOSE` is set: `attempt` then prints what each reader made of the input
/// (run a harness on one file to see how far a new corpus file gets).
public let fuzzVerbose = getenv("STARSIM_FUZZ_VERBOSE") != nil

/// `body`'s result, or nil when it throws (an expected outcome for fuzzed input); in verbose mode,
/// prints `what` and the outcome.
public func attempt<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) -> T? {
    do {
        let value = try body()
        if fuzzVerbose { print("\(what()): ok") }
        return value
    } catch {
        if fuzzVerbose { print("\(what()): \(error)") }
        return nil
    }
}

/// Stops the process with `message` (a property the harness checks does not hold).
public func fuzzFailure(_ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) -> Never {
    fatalError("fuzz property violated: \(message())", file: file, line: line)
}
