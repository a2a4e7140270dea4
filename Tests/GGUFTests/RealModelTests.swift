import Foundation
import GGUF
import Testing

/// Reference values from the Python `gguf` package (gguf 0.19.0, numpy), obtained with:
///
///     python3 -c "import gguf,numpy as np; r=gguf.GGUFReader(PATH);
///       t=[t for t in r.tensors if t.name==NAME][0];
///       v=gguf.quants.dequantize(t.data,t.tensor_type).astype(np.float32).reshape(-1);
///       print(v[:8].tolist(), v[-8:].tolist(), float(v.astype(np.float64).sum()))"
///
/// with PATH = ~/.cache/starsim/SmolLM2-135M-Instruct.Q4_1.gguf (98,362,432 bytes).
private let references: [(name: String, type: GGMLType, dims: [Int], first: [Float], last: [Float], sum: Double)] = [
    ("blk.0.attn_q.weight", .q4_1, [576, 576],
     [-0.0963134765625, 0.1573486328125, -0.0963134765625, -0.73046875, 1.1719970703125, -0.0963134765625,
      0.030517578125, 0.6646728515625],
     [-0.0438232421875, 0.009185791015625, 0.009185791015625, 0.539276123046875, 0.009185791015625,
      -0.096832275390625, -0.14984130859375, -0.255859375],
     59.22322082519531),
    ("token_embd.weight", .q8_0, [576, 49152],
     [-0.10654449462890625, 0.032978057861328125, 0.048198699951171875, -0.022830963134765625,
      -0.06849288940429688, -0.04566192626953125, 0.020294189453125, -0.12176513671875],
     [0.027801513671875, 0.03475189208984375, 0.18592262268066406, -0.10078048706054688, 0.07819175720214844,
      0.12858200073242188, -0.11989402770996094, -0.0417022705078125],
     -15353.04449415207),
    ("blk.29.ffn_down.weight", .q4_1, [1536, 576],
     [-0.2733154296875, 0.186279296875, 0.186279296875, 0.04840087890625, 0.186279296875, 0.186279296875,
      -0.31927490234375, -0.181396484375],
     [-0.08984375, -0.138671875, -0.08984375, 0.0078125, 0.056640625, 0.203125, -0.08984375, 0.056640625],
     49.83570861816406),
    ("output_norm.weight", .f32, [576],
     [1.7578125, 1.8203125, 1.78125, 1.6015625, 1.7421875, 1.71875, 1.828125, 1.75],
     [1.7578125, 1.7421875, 1.71875, 2.28125, 1.9140625, 1.8828125, 1.921875, 1.984375],
     1038.33203125),
]

@Suite("GGUF real SmolLM2-135M file", .enabled(if: RealModel.shouldRun, "model file absent (set STARSIM_MODEL)"))
struct RealModelTests {
    func open() throws -> GGUFFile {
        try #require(RealModel.present, "STARSIM_REQUIRE_MODEL=1 but no model at \(RealModel.path)")
        return try GGUFFile(path: RealModel.path)
    }

    @Test func headerMetadataAndTensorInfos() throws {
        let g = try open()
        #expect(g.version == 3)
        #expect(g.alignment == 32)
        #expect(try g.int("llama.block_count") == 30)
        #expect(try g.string("general.architecture") == "llama")
        #expect(try g.int("llama.embedding_length") == 576)
        #expect(try g.strings("tokenizer.ggml.tokens").count == 49152)
        #expect(g.tensors.count == 272)  // 30 layers × 9 + token_embd + output_norm (Python GGUFReader)
        #expect(g.tensorDataOffset == 1_785_664)  // Python GGUFReader.data_offset
        for l in 0..<30 {
            for n in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] {
                #expect(g.tensor(named: "blk.\(l).\(n).weight") != nil, "blk.\(l).\(n).weight")
            }
        }
        let emb = try #require(g.tensor(named: "token_embd.weight"))
        #expect(emb.type == .q8_0 && emb.dimensions == [576, 49152])
        let q = try #require(g.tensor(named: "blk.0.attn_q.weight"))
        #expect(q.type == .q4_1 && q.dimensions == [576, 576])
        #expect(q.byteCount == 576 * 576 / 32 * 20)
        #expect(Set(g.tensors.map(\.type)) == [.f32, .q8_0, .q4_1])
    }

    @Test func dequantizedValuesMatchPythonGGUF() throws {
        let g = try open()
        for r in references {
            let t = try #require(g.tensor(named: r.name))
            #expect(t.type == r.type && t.dimensions == r.dims, "\(r.name)")
            let v = try g.dequantize(t)
            // Same decode formula as gguf-py in float32; exact except possible 1-ulp differences.
            for (a, b) in zip(v.prefix(8), r.first) { #expect(abs(a - b) <= abs(b) * 1e-6, "\(r.name) head") }
            for (a, b) in zip(v.suffix(8), r.last) { #expect(abs(a - b) <= abs(b) * 1e-6, "\(r.name) tail") }
            let sum = v.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - r.sum) <= 1e-6 * Double(v.count), "\(r.name) sum \(sum) vs \(r.sum)")
        }
    }

    @Test func dequantizeWholeModelThroughput() throws {
        let g = try open()
        let total = g.tensors.reduce(0) { $0 + $1.elementCount }
        var buf = [Float](repeating: 0, count: g.tensors.map(\.elementCount).max()!)
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try buf.withUnsafeMutableBufferPointer { b in
                for t in g.tensors {
                    try g.dequantize(t, into: UnsafeMutableBufferPointer(rebasing: b[0..<t.elementCount]))
                }
            }
        }
        let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let mb = Double(total * 4) / 1e6
        print("GGUF dequantize: \(total) elements = \(String(format: "%.1f", mb)) MB f32 in \(String(format: "%.3f", secs)) s = \(String(format: "%.0f", mb / secs)) MB/s of f32 output")
        #expect(total == 134_515_008)
    }
}
