import Foundation
import Benchmarks
import Llama
import Testing
import TestSupport

/// Runs `ModelBenchmark` on the real model when `STARSIM_LLAMA_BENCH=1` (it takes about a minute
/// and needs the machine to itself). `STARSIM_LLAMA_BENCH_LENGTHS=1024,4096` overrides the prompt
/// lengths, `STARSIM_LLAMA_BENCH_CHUNK` the chunk size; the JSON report goes to
/// `STARSIM_LLAMA_BENCH_OUT` if set.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["STARSIM_LLAMA_BENCH"] == "1"))
struct ModelBenchmarkTests {
    @Test func prefillAndDecodeThroughput() throws {
        let env = ProcessInfo.processInfo.environment
        let model = try LlamaModel(path: RealModelFile.path)
        let lengths = env["STARSIM_LLAMA_BENCH_LENGTHS"].map { $0.split(separator: ",").compactMap { Int($0) } }
            ?? [1024, 4096, 8192]
        let chunk = env["STARSIM_LLAMA_BENCH_CHUNK"].flatMap { Int($0) } ?? LlamaModel.defaultChunkSize
        let report = try ModelBenchmark.run(model: model, lengths: lengths, decodeTokens: 128, chunkSize: chunk)
        print(report)
        if let out = env["STARSIM_LLAMA_BENCH_OUT"] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: out))
        }
        #expect(report.prefills.allSatisfy { $0.tokensPerSecond > 0 })
    }
}
