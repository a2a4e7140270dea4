#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
import GGUF
import StarSim
import Tokenizer

/// Fuzzes the GGUF reader and everything that reads a parsed GGUF file.
///
/// Each input is written to one reused scratch file and opened with `GGUFFile(path:)` (header,
/// metadata, tensor infos, data ranges). When that succeeds, the harness reads every metadata value
/// through each typed accessor, dequantizes every tensor of at most `maxTensorElements` elements
/// (at most `maxTotalElements` per input: tensors may share data, so the file size does not bound
/// it), and builds `ModelSpec(gguf:)` (with the numbers a projection reads from it),
/// `LlamaConfig(gguf:)`, `LlamaModel(gguf:)` (when the tensors are small) and
/// `BPETokenizer(gguf:)` (then encodes and decodes a short text). Thrown errors are expected;
/// crashes, leaks and hangs are what the fuzzer looks for.
///
/// `fuzz-gguf --make-corpus=DIR` writes the seed corpus (small files from `GGUFWriter`) and exits.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = attempt("GGUFFile", { try GGUFFile(path: scratch.write(data, size)) }) else { return 0 }
    readMetadata(file)
    dequantizeTensors(file)
    if let spec = attempt("ModelSpec", { try ModelSpec(gguf: file) }) {
        _ = (spec.parameterCount, spec.weightBytes, spec.weightBytesPerLayer, spec.kvBytesPerToken, spec.description)
    }
    if let config = attempt("LlamaConfig", { try LlamaConfig(gguf: file) }) {
        // (Regressions/fuzz-gguf/oom-huge-block-count.gguf: a huge `llama.block_count` is refused by
        // LlamaConfig now.) Large models are not loaded, only to keep executions fast.
        let total = file.tensors.reduce(0) { $0 &+ $1.elementCount }
        if config.layerCount > 0, total >= 0, total <= maxTotalElements {
            _ = attempt("LlamaModel") { try LlamaModel(gguf: file) }
        }
    }
    if let tokenizer = attempt("BPETokenizer", { try BPETokenizer(gguf: file) }) {
        let ids = tokenizer.encode("Hello <|im_start|>wörld 123 \u{1F600}\n")
        _ = tokenizer.decode(ids + [-1, Int32(tokenizer.vocabularySize)])
        _ = tokenizer.renderChat(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
    }
    return 0
}

/// Tensors larger than this are not dequantized.
let maxTensorElements = 1 << 20
/// Elements dequantized per input at most.
let maxTotalElements = 1 << 22

let scratch = ScratchFile(tag: "gguf", name: "input.gguf")

/// Reads each metadata value through every typed accessor.
func readMetadata(_ file: GGUFFile) {
    for key in file.metadataKeys {
        let v = file.metadata[key]!
        _ = (v.typeName, v.typeCode, v.intValue, v.doubleValue, v.stringValue, v.boolValue, v.arrayValue?.count)
        _ = try? file.int(key)
        _ = try? file.double(key)
        _ = try? file.string(key)
        _ = try? file.bool(key)
        _ = try? file.strings(key)
        _ = try? file.ints(key)
        _ = try? file.doubles(key)
    }
    _ = try? file.int("general.alignment")
}

/// Dequantizes every small tensor, and reads its raw bytes.
func dequantizeTensors(_ file: GGUFFile) {
    var budget = maxTotalElements
    for t in file.tensors {
        precondition(file.tensor(named: t.name) != nil, "tensor '\(t.name)' not found by name")
        _ = t.rowCount
        _ = file.withRawBytes(of: t) { raw in raw.reduce(UInt8(0)) { $0 ^ $1 } }
        guard t.elementCount <= maxTensorElements, t.elementCount <= budget else { continue }
        budget -= t.elementCount
        if let values = attempt("dequantize \(t.name) (\(t.type))", { try file.dequantize(t) }), values.count != t.elementCount {
            fuzzFailure("dequantize(\(t.name)) gave \(values.count) values, expected \(t.elementCount)")
        }
    }
}

/// `--make-corpus=DIR`: writes the seed corpus to DIR and exits.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
) -> CInt {
    if makeCorpusIfAsked(argc, argv) { exit(0) }
    return 0
}

func makeCorpusIfAsked(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
) -> Bool {
    guard let dir = FuzzArguments.value("make-corpus", argc: argc, argv: argv) else { return false }
    do { try GGUFCorpus.write(to: dir) } catch { fatalError("fuzz-gguf: \(error)") }
    return true
}
