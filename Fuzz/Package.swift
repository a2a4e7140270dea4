// swift-tools-version: 6.0
import Foundation
import PackageDescription

/// libFuzzer harnesses for StarSim's input readers (GGUF, tokenizer, YAML, config.json), kept out of
/// the main package so that it has no fuzz products. Build and run with `scripts/fuzz.sh` (release,
/// with the fuzzer and address sanitizers); see `README.md` here.
///
/// A path dependency's identity is its folder's name, which differs between checkouts and
/// worktrees, so it is read from this file's location rather than written out. (A checkout in a
/// folder named `fuzz` collides with this package's own identity, `fuzz`; `scripts/fuzz.sh` then
/// builds from a copy, see there.)
let starsim = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]
let library: Target.Dependency = .product(name: "StarSim", package: starsim)

let package = Package(
    name: "StarSimFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [library], swiftSettings: strict),
        .executableTarget(name: "fuzz-gguf", dependencies: [library, "FuzzSupport"], swiftSettings: strict),
        .executableTarget(name: "fuzz-tokenizer", dependencies: [library, "FuzzSupport"], swiftSettings: strict),
        .executableTarget(name: "fuzz-yaml", dependencies: [library, "FuzzSupport"], swiftSettings: strict),
        .executableTarget(name: "fuzz-config-json", dependencies: [library, "FuzzSupport"], swiftSettings: strict),
    ]
)
