import GGUF
import Kernels

/// Reads named tensors from a GGUF file, checks their dimensions and dequantizes them to f32 (and
/// wraps their mapped quantized blocks for decode).
struct WeightLoader {
    let gguf: GGUFFile

    /// Dequantizes the tensors `parts` (name, expected ggml dims `[in, out]`) and concatenates them
    /// along the output dimension, giving one row-major `[Σ out, in]` matrix (or a vector).
    ///
    /// - Throws: `ModelError` naming the tensor when it is missing, has other dims, or cannot be
    ///   dequantized.
    func load(_ parts: [(name: String, dims: [Int])]) throws -> [Float] {
        let infos = try check(parts)
        return try dequantize(infos)
    }

    /// `load` plus the tensors' quantized blocks as `QuantizedMatrix`es over the file's mapping
    /// (no copy; valid while `gguf` is alive), or none when any tensor is not Q4_0, Q4_1 or Q8_0.
    func linear(_ parts: [(name: String, dims: [Int])]) throws -> LinearWeights {
        let infos = try check(parts)
        var quantized: [QuantizedMatrix] = []
        for info in infos {
            guard let format = Self.format(info.type) else {
                quantized = []
                break
            }
            quantized.append(QuantizedMatrix(format: format, rows: info.dimensions[1], columns: info.dimensions[0],
                                             bytes: gguf.mappedBytes(of: info)))
        }
        return LinearWeights(f32: try dequantize(infos), quantized: quantized)
    }

    /// The `QuantizedMatVec` format of a ggml type, nil when it has none.
    static func format(_ type: GGMLType) -> QuantizedFormat? {
        switch type {
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q8_0: return .q8_0
        default: return nil
        }
    }

    /// Looks the tensors up and checks their dimensions.
    private func check(_ parts: [(name: String, dims: [Int])]) throws -> [GGUFTensorInfo] {
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
        return infos
    }

    /// Dequantizes `infos` into one array, concatenated in order.
    private func dequantize(_ infos: [GGUFTensorInfo]) throws -> [Float] {
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
