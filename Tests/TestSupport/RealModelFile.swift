import Foundation

/// Where the real SmolLM2-135M-Instruct GGUF is, for tests that use it: `STARSIM_MODEL`, else
/// `$STARSIM_CACHE` (default `~/.cache/starsim`) + `/SmolLM2-135M-Instruct.Q4_1.gguf`. Absent →
/// such tests are disabled, unless `STARSIM_REQUIRE_MODEL=1` (the test script sets it): then they
/// run and fail on the missing file.
public enum RealModelFile {
    public static let path: String = {
        let env = ProcessInfo.processInfo.environment
        if let p = env["STARSIM_MODEL"], !p.isEmpty { return p }
        let cache = env["STARSIM_CACHE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/starsim")
        return (cache as NSString).appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
    }()
    public static var present: Bool { FileManager.default.fileExists(atPath: path) }
    public static var required: Bool { ProcessInfo.processInfo.environment["STARSIM_REQUIRE_MODEL"] == "1" }
    public static var shouldRun: Bool { present || required }
}
