/// Splits text into the words that BPE then encodes one at a time.
///
/// Implemented by hand over Unicode scalars (no regex engine), exactly as the pattern
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2's, as used
/// by Hugging Face `ByteLevel(use_regex: true)`) matches: leftmost alternative first, each `+`
/// greedy. `\p{L}` is general category L (Lu Ll Lt Lm Lo), `\p{N}` is N (Nd Nl No), `\s` is the
/// Unicode `White_Space` property, and ` ?` is the literal space U+0020 only.
///
/// Variants (the GGUF key `tokenizer.ggml.pre`):
/// - `"smollm"`: first isolate every `\p{N}` scalar as its own piece (Hugging Face
///   `Digits(individual_digits: true)`), then apply the pattern to each piece separately — so
///   `\s+(?!\S)` sees the end of a piece, not the digit after it: `"a 1"` → `["a", " ", "1"]`.
/// - `"gpt2"`: the pattern over the whole text (numbers stay in runs: `" 123"` is one piece).
///
/// The `\s+(?!\S)` rule: a whitespace run followed by a non-space gives up its last scalar, which
/// then starts the next word if it is a plain space (`"a  b"` → `["a", " ", " b"]`) or stands
/// alone otherwise (`"a \nb"` → `["a", " ", "\n", "b"]`); a run at the end of a piece stays whole.
public struct PreTokenizer: Sendable, Hashable {
    /// The `tokenizer.ggml.pre` values this implementation supports.
    public static let supportedNames = ["smollm", "gpt2"]

    /// The variant name, one of `supportedNames`.
    public let name: String
    /// Whether every `\p{N}` scalar is split off on its own before the pattern runs.
    let isolatesDigits: Bool

    /// - Throws: `TokenizerError` naming `name` and the supported names if it is not supported.
    public init(name: String) throws {
        switch name {
        case "smollm": isolatesDigits = true
        case "gpt2": isolatesDigits = false
        default:
            throw TokenizerError(.unsupportedPreTokenizer(found: name, supported: Self.supportedNames))
        }
        self.name = name
    }

    /// The words of `text`, in order; their concatenation is `text` (same scalars).
    public func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var scratch = Scratch()
        var ranges: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { buffer in
            split(buffer, 0..<buffer.count, scratch: &scratch) { ranges.append($0) }
        }
        return ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    // MARK: - Internals over UTF-8 bytes

    /// Scalar class: what the pattern's character classes see.
    enum Class: UInt8 {
        case other = 0  // [^\s\p{L}\p{N}]
        case letter = 1  // \p{L}
        case number = 2  // \p{N}
        case space = 3  // \s (White_Space)
    }

    /// Reusable per-call buffers (one entry per scalar of the current segment).
    struct Scratch {
        var cls: [Class] = []
        var val: [UInt32] = []
        /// Byte offset of each scalar, plus one final entry: the segment's end offset.
        var off: [Int] = []
    }

    /// Calls `emit` with the byte range of each word of `bytes[range]`, in order.
    /// - Precondition: `bytes[range]` is valid UTF-8 (it comes from a `String`).
    /// - Complexity: O(n) in the bytes of `range`.
    func split(
        _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: inout Scratch,
        emit: (Range<Int>) -> Void
    ) {
        Self.decodeScalars(bytes, range, into: &scratch)
        let count = scratch.cls.count
        if count == 0 { return }
        scratch.cls.withUnsafeBufferPointer { cls in
            scratch.val.withUnsafeBufferPointer { val in
                scratch.off.withUnsafeBufferPointer { off in
                    if isolatesDigits {
                        var pieceStart = 0
                        for i in 0..<count where cls[i] == .number {
                            if pieceStart < i {
                                Self.matchPattern(cls, val, pieceStart, i) { emit(off[$0]..<off[$1]) }
                            }
                            emit(off[i]..<off[i + 1])
                            pieceStart = i + 1
                        }
                        if pieceStart < count {
                            Self.matchPattern(cls, val, pieceStart, count) { emit(off[$0]..<off[$1]) }
                        }
                    } else {
                        Self.matchPattern(cls, val, 0, count) { emit(off[$0]..<off[$1]) }
                    }
                }
            }
        }
    }

    /// Runs the GPT-2 pattern over scalars `start..<end` (one piece), emitting scalar ranges.
    static func matchPattern(
        _ cls: UnsafeBufferPointer<Class>, _ val: UnsafeBufferPointer<UInt32>, _ start: Int, _ end: Int,
        emit: (Int, Int) -> Void
    ) {
        @inline(__always) func run(_ from: Int, _ c: Class) -> Int {
            var j = from
            while j < end && cls[j] == c { j += 1 }
            return j
        }
        var i = start
        while i < end {
            let c = cls[i]
            let v = val[i]
            var j: Int
            if v == 0x27, let k = contractionEnd(val, i, end) {
                // 's 't 're 've 'm 'll 'd
                j = k
            } else if c == .letter || c == .number || c == .other {
                // \p{L}+ | \p{N}+ | [^\s\p{L}\p{N}]+
                j = run(i + 1, c)
            } else if v == 0x20 && i + 1 < end && cls[i + 1] != .space {
                // " ?\p{L}+" | " ?\p{N}+" | " ?[^\s\p{L}\p{N}]+" with the optional space present
                j = run(i + 2, cls[i + 1])
            } else {
                // whitespace: \s+(?!\S) | \s+
                let k = run(i + 1, .space)
                if k == end {
                    j = k  // the run reaches the end of the piece: (?!\S) holds at the end
                } else if k - i >= 2 {
                    j = k - 1  // back off one so the lookahead sees whitespace
                } else {
                    j = k  // a single whitespace before a non-space: plain \s+
                }
            }
            emit(i, j)
            i = j
        }
    }

    /// End index of a contraction starting at the apostrophe `val[i]`, or nil.
    @inline(__always)
    static func contractionEnd(_ val: UnsafeBufferPointer<UInt32>, _ i: Int, _ end: Int) -> Int? {
        guard i + 1 < end else { return nil }
        switch val[i + 1] {
        case 0x73, 0x74, 0x6D, 0x64: return i + 2  // s t m d
        case 0x72, 0x76:  // r v → re ve
            if i + 2 < end && val[i + 2] == 0x65 { return i + 3 }
        case 0x6C:  // l → ll
            if i + 2 < end && val[i + 2] == 0x6C { return i + 3 }
        default: break
        }
        return nil
    }

    /// Decodes the scalars of valid UTF-8 `bytes[range]` into `scratch` (class, value, offsets).
    static func decodeScalars(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into s: inout Scratch) {
        s.cls.removeAll(keepingCapacity: true)
        s.val.removeAll(keepingCapacity: true)
        s.off.removeAll(keepingCapacity: true)
        var p = range.lowerBound
        let end = range.upperBound
        while p < end {
            let b0 = UInt32(bytes[p])
            var v: UInt32
            var n: Int
            if b0 < 0x80 {
                v = b0; n = 1
            } else if b0 < 0xE0 {
                v = (b0 & 0x1F) << 6 | UInt32(bytes[p + 1] & 0x3F); n = 2
            } else if b0 < 0xF0 {
                v = (b0 & 0x0F) << 12 | UInt32(bytes[p + 1] & 0x3F) << 6 | UInt32(bytes[p + 2] & 0x3F); n = 3
            } else {
                v = (b0 & 0x07) << 18 | UInt32(bytes[p + 1] & 0x3F) << 12
                    | UInt32(bytes[p + 2] & 0x3F) << 6 | UInt32(bytes[p + 3] & 0x3F)
                n = 4
            }
            s.cls.append(classify(v))
            s.val.append(v)
            s.off.append(p)
            p += n
        }
        s.off.append(end)
    }

    /// The pattern class of scalar value `v`.
    @inline(__always)
    static func classify(_ v: UInt32) -> Class {
        if v < 0x10000 { return bmpClasses[Int(v)] }
        return computeClass(v)
    }

    /// Classes of all Basic Multilingual Plane scalars (64 KiB, built once on first use).
    static let bmpClasses: [Class] = (0..<0x10000).map { computeClass(UInt32($0)) }

    static func computeClass(_ v: UInt32) -> Class {
        guard let scalar = Unicode.Scalar(v) else { return .other }  // surrogates: never in a String
        let p = scalar.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}
