/// One tensor's description from the GGUF tensor-info table.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// Tensor name, e.g. `"blk.0.attn_q.weight"`.
    public let name: String
    /// Dimensions in ggml order: `ne0` (innermost, contiguous, the "in" features of a weight) first.
    /// A weight `[out, in]` in row-major terms has `dimensions == [in, out]`.
    public let dimensions: [Int]
    /// Element type.
    public let type: GGMLType
    /// Byte offset of the tensor's data from the start of the data section (a multiple of the alignment).
    public let offset: Int
    /// Product of `dimensions` (1 for a scalar / zero dimensions).
    public let elementCount: Int
    /// Bytes of data: `elementCount / type.blockSize * type.blockBytes`.
    public let byteCount: Int

    /// Rows in ggml terms: `elementCount / dimensions[0]` (the row-major row count of a 2-D weight).
    public var rowCount: Int { dimensions.isEmpty || dimensions[0] == 0 ? 0 : elementCount / dimensions[0] }
}
