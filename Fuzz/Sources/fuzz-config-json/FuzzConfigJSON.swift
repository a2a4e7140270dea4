import FuzzSupport
import Projection

/// Fuzzes the Hugging Face `config.json` reader, `ModelSpec(huggingFaceConfig:)` (it reads a path:
/// the input goes to a scratch file), and on success the numbers a projection reads from the model
/// (parameter and byte counts, the description). Thrown errors are expected; crashes, leaks and
/// hangs are what the fuzzer looks for.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = scratch.write(data, size)
    for bytesPerElement in [2, 4] {
        guard let spec = attempt("ModelSpec", { try ModelSpec(huggingFaceConfig: path, bytesPerElement: bytesPerElement) }) else {
            return 0
        }
        _ = (spec.parameterCount, spec.weightBytes, spec.weightBytesPerLayer, spec.kvBytesPerToken, spec.description)
    }
    return 0
}

let scratch = ScratchFile(tag: "config-json", name: "config.json")
