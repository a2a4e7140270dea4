// swift-tools-version: 6.0
import PackageDescription

/// StarSim: Star Attention, Ring Attention and exact global attention, executed for real on
/// SmolLM2 and projected to 1M-token contexts, on a deterministic simulated cluster.
///
/// Module map (each folder under `Sources/` is one module):
/// - `COpenBLAS`, `CLibUV`: system libraries, imported by exactly one Swift file each.
/// - `SeededRandom`: `SplitMix64`, the one seeded generator (prompts, test models, test inputs).
/// - `GGUF`: GGUF v3 reader (memory-mapped), writer (for test models), dequantization.
/// - `Tokenizer`: byte-level BPE from the GGUF vocabulary, SmolLM pre-tokenizer, ChatML.
/// - `Kernels`: BLAS wrapper, tiled (flash) attention with log-sum-exp, partial merge, RMSNorm, RoPE.
/// - `Llama`: Llama-family forward pass, layer-stepped, attention through one injected hook.
/// - `ClusterSpec`: virtual time (`SimInstant`, `SimDuration`) and hardware profiles (devices, links,
///   topology descriptions): the leaf vocabulary that `Cluster` and `Projection` share.
/// - `Cluster`: discrete-event scheduler on libuv, host actors, links, traces (re-exports `ClusterSpec`).
/// - `DistributedAttention`: Star / Ring / Global as pure per-host programs returning directives.
/// - `Projection`: model shapes, device and link profiles, cost model, calibration.
/// - `ClusterExecution`: runs one method on the simulated cluster: host shells that interpret the
///   programs' directives, real (Llama + Kernels) and modeled backends, cluster set-up, progress,
///   the model session, the app-level error (`StarSimError`).
/// - `StarSim`: scenarios, capacity (project/plan/paper), evaluation suite; re-exports the layers
///   below so that `import StarSim` is the whole API.
/// - `Benchmarks`: the measurements behind `starsim bench` (kernels, model, engine, simulation,
///   capacity sweep); not library API, as swift-nio and swift-collections keep theirs apart.
/// - `StarSimCLI`: the `starsim` executable (thin shell over `StarSim`).
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "StarSim",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "starsim", targets: ["StarSimCLI"]),
        .library(name: "StarSim", targets: ["StarSim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CLibUV", pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]),

        .target(name: "SeededRandom", swiftSettings: strict),
        .target(name: "GGUF", swiftSettings: strict),
        .target(name: "ConfigFiles", dependencies: ["Yams"], swiftSettings: strict),
        .target(name: "Plots", swiftSettings: strict),
        .target(name: "Tokenizer", dependencies: ["GGUF"], swiftSettings: strict),
        // No `unsafeFlags` anywhere, so that other packages can depend on the library. The scripts
        // add `-target-cpu` for this machine's vector instructions (scripts/cpu-flags.sh).
        .target(name: "Kernels", dependencies: ["COpenBLAS"], swiftSettings: strict),
        .target(name: "Llama", dependencies: ["GGUF", "Kernels", "Tokenizer", "SeededRandom"], swiftSettings: strict),
        .target(
            name: "Cluster",
            dependencies: ["ClusterSpec", "CLibUV", .product(name: "Collections", package: "swift-collections")],
            swiftSettings: strict),
        .target(name: "ClusterSpec", swiftSettings: strict),
        .target(name: "DistributedAttention", swiftSettings: strict),
        .target(
            name: "Projection",
            dependencies: ["GGUF", "ClusterSpec", "DistributedAttention", "ConfigFiles"],
            swiftSettings: strict),
        .target(
            name: "ClusterExecution",
            dependencies: ["GGUF", "Tokenizer", "Kernels", "Llama", "Cluster", "DistributedAttention", "Projection"],
            swiftSettings: strict),
        .target(
            name: "StarSim",
            dependencies: [
                "GGUF", "Tokenizer", "Kernels", "Llama", "Cluster", "DistributedAttention",
                "Projection", "ClusterExecution", "ConfigFiles", "Plots",
                .product(name: "Collections", package: "swift-collections"),
            ],
            swiftSettings: strict),
        // Speed and memory measurements behind `starsim bench` (not library API).
        .target(
            name: "Benchmarks",
            dependencies: ["Kernels", "Llama", "Cluster", "ClusterExecution", "DistributedAttention", "Projection", "StarSim"],
            swiftSettings: strict),
        .executableTarget(
            name: "StarSimCLI",
            dependencies: ["StarSim", "Benchmarks", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),

        .target(name: "TestSupport", dependencies: ["SeededRandom"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "TokenizerTests", dependencies: ["Tokenizer", "GGUF", "TestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "LlamaTests", dependencies: ["Llama", "GGUF", "Kernels", "Tokenizer", "TestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: strict),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "DistributedAttentionTests", dependencies: ["DistributedAttention", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "ConfigFilesTests", dependencies: ["ConfigFiles"], swiftSettings: strict),
        .testTarget(name: "PlotsTests", dependencies: ["Plots"], swiftSettings: strict),
        .testTarget(name: "ProjectionTests", dependencies: ["Projection", "ClusterSpec", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "StarSimTests", dependencies: ["StarSim", "StarSimCLI", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "BenchmarksTests", dependencies: ["Benchmarks", "Kernels", "Llama", "Cluster", "TestSupport"],
            swiftSettings: strict),
    ]
)
