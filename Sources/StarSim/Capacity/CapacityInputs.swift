import Cluster
import DistributedAttention
import Dispatch
import Foundation
import GGUF
import Projection

/// Token counts written as `16K` (16384), `1M` (1048576) or plain integers.
public enum TokenCount {
    /// Parses `2048`, `2K`, `128K`, `1M` (binary multiples: K = 1024, M = 1024²), at most
    /// `InputLimits.contextTokens` (16M).
    /// - Throws: ``StarSimError`` naming `field`.
    public static func parse(_ text: String, field: String) throws(StarSimError) -> Int {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        var multiplier = 1
        var digits = Substring(t)
        if t.hasSuffix("K") { multiplier = 1024; digits = t.dropLast() }
        else if t.hasSuffix("M") { multiplier = 1024 * 1024; digits = t.dropLast() }
        guard let n = Int(digits), n > 0 else {
            throw .invalid(field, text, "a positive token count such as 2048, 16K or 1M (K = 1024, M = 1024²)")
        }
        let (tokens, overflow) = n.multipliedReportingOverflow(by: multiplier)
        guard !overflow, InputLimits.contextTokens.contains(tokens) else {
            throw .invalid(field, text, "a token count of at most \(format(InputLimits.contextTokens.upperBound)) "
                + "(\(InputLimits.contextTokens.upperBound) tokens)")
        }
        return tokens
    }

    /// `16384` → `16K`, `1048576` → `1M`, otherwise the number.
    public static func format(_ n: Int) -> String {
        if n >= 1024 * 1024, n % (1024 * 1024) == 0 { return "\(n / (1024 * 1024))M" }
        if n >= 1024, n % 1024 == 0 { return "\(n / 1024)K" }
        return "\(n)"
    }

    /// Parses a comma-separated list.
    public static func parseList(_ text: String, field: String) throws(StarSimError) -> [Int] {
        var out: [Int] = []
        for part in text.split(separator: ",") { out.append(try parse(String(part), field: field)) }
        guard !out.isEmpty else { throw .invalid(field, text, "a comma-separated list of token counts") }
        return out
    }
}

/// Resolves `--model`: a built-in name, a `.gguf` file or a Hugging Face `config.json`.
public enum CapacityModels {
    /// - Throws: ``StarSimError`` (wrapping the `ProjectionError` listing the known names).
    public static func resolve(_ name: String) throws(StarSimError) -> ModelSpec {
        do {
            if name.lowercased().hasSuffix(".gguf") {
                return try ModelSpec(gguf: GGUFFile(path: name), bytesPerElement: 2, weightBytesPerParameter: 2)
            }
            if name.lowercased().hasSuffix(".json") { return try ModelSpec(huggingFaceConfig: name) }
            return try ModelSpec.named(name)
        } catch {
            throw StarSimError.failed(("model: \(error)"))
        }
    }
}

/// A cached prefix of every context (`--cached`, `cached:`): a token count (`120K`) or a share
/// (`90%`) of the context whose K,V the hosts hold from an earlier turn (ring methods only).
public enum CachedPrefix: Sendable, Hashable, Codable {
    case tokens(Int)
    case share(Double)

    /// Cached tokens of a context of `length`.
    public func tokens(of length: Int) -> Int {
        switch self {
        case .tokens(let n): return n
        case .share(let f): return Int((Double(length) * f).rounded(.down))
        }
    }

    /// Why a cached prefix cannot apply to `method` (nil for ring methods) — the one wording of the
    /// rule, for every place that checks it.
    public static func unsupported(by method: MethodKind) -> String? {
        method.isRing ? nil : "\(method.rawValue) encodes its whole context; a cached prefix applies to ring methods (ring, ring-zigzag, ring-zigzag-passq, allgather, …)"
    }

    /// `120K`, `1M` or `90%` (0 to 99.9 %); errors name `field`.
    public static func parse(_ text: String, field: String = "--cached") throws(StarSimError) -> CachedPrefix {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") {
            guard let v = Double(t.dropLast()), v >= 0, v < 100 else {
                throw .invalidValue(field, text, "a share of each context from 0% to below 100%, or a token count such as 120K")
            }
            return .share(v / 100)
        }
        return .tokens(try TokenCount.parse(t, field: field))
    }
}
