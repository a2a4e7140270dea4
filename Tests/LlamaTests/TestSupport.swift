import Foundation
import GGUF
import Llama

/// Helpers shared by the Llama tests: temporary files, tiny models, comparisons.
enum Support {
    /// A fresh path in a per-process temporary directory.
    static func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llama-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("\(name)-\(UUID().uuidString).gguf").path
    }

    /// Writes a TinyLlama model and returns its path.
    static func writeTiny(_ config: LlamaConfig = TinyLlama.testConfig, seed: UInt64 = 42, type: GGMLType = .f32) throws -> String {
        let path = temporaryPath("tiny-\(type)")
        try TinyLlama.write(config: config, seed: seed, to: path, type: type)
        return path
    }

    /// The f32 test model, written and loaded once per process.
    static let tiny: (path: String, model: LlamaModel) = {
        let path = try! writeTiny()
        return (path, try! LlamaModel(path: path))
    }()

    /// Seeded token ids in `0..<vocabulary`.
    static func randomTokens(_ n: Int, vocabulary: Int, seed: UInt64) -> [Int32] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int32((state >> 33) % UInt64(vocabulary))
        }
    }

    /// Copies the GGUF at `source` to a new file, changing metadata and tensors (all written as F32).
    static func rewrite(
        _ source: String, dropKeys: Set<String> = [], setKeys: [String: GGUFValue] = [:],
        dropTensors: Set<String> = [], replaceTensors: [String: (dims: [Int], values: [Float])] = [:]
    ) throws -> String {
        let file = try GGUFFile(path: source)
        var w = GGUFWriter()
        for key in file.metadataKeys where !dropKeys.contains(key) {
            w.set(key, setKeys[key] ?? file.metadata[key]!)
        }
        for (key, value) in setKeys where file.metadata[key] == nil { w.set(key, value) }
        for t in file.tensors where !dropTensors.contains(t.name) {
            if let r = replaceTensors[t.name] {
                try w.addTensor(name: t.name, dimensions: r.dims, type: .f32, values: r.values)
            } else {
                try w.addTensor(name: t.name, dimensions: t.dimensions, type: .f32, values: try file.dequantize(t))
            }
        }
        let path = temporaryPath("rewritten")
        try w.write(to: path)
        return path
    }

    /// Loads `path`, expecting a `ModelError`; returns its message.
    static func loadError(_ path: String) -> String? {
        do {
            _ = try LlamaModel(path: path)
            return nil
        } catch let e as ModelError {
            return e.description
        } catch {
            return "unexpected error type \(type(of: error)): \(error)"
        }
    }
}
