import GGUF

/// Reads named tensors from a GGUF file, checks their dimensions and dequantizes them to f32.
struct WeightLoader {
    let gguf: GGUFFile

    /// Dequantizes the tensors `parts` (name, expected ggml dims `[in, out]`) and concatenates them
    /// along the output dimension, giving one row-major `[Σ out, in]` matrix (or a vector).
    ///
    /// - Throws: `ModelError` naming the tensor when it is missing, has other dims, or cannot be
    ///   dequantized.
    func load(_ parts: [(name: String, dims: [Int])]) throws -> [Float] {
        var infos: [GGUFTensorInfo] = []
        for part in parts {
            guard let info = gguf.tensor(named: part.name) else {
                throw ModelError(.missingTensor(path: gguf.path, name: part.name))
            }
            guard info.dimensions == part.dims else {
                throw ModelError(.wrongShape(path: gguf.path, name: part.name, found: info.dimensions, expected: part.dims))
            }
            infos.append(info)
        }
        let total = infos.reduce(0) { $0 + $1.elementCount }
        return try [Float](unsafeUninitializedCapacity: total) { out, initialized in
            var offset = 0
            for info in infos {
                let slice = UnsafeMutableBufferPointer(rebasing: out[offset..<(offset + info.elementCount)])
                do {
                    try gguf.dequantize(info, into: slice)
                } catch {
                    throw ModelError(.gguf(path: gguf.path, message: "tensor '\(info.name)' (\(info.type)): \(error)"))
                }
                offset += info.elementCount
            }
            initialized = total
        }
    }
}
