import Foundation

/// How numbers are written on tick labels (and bar value labels).
///
/// Every format is deterministic and locale-independent: the shortest of 0...3 fraction digits
/// that represents the (unit-scaled) value exactly (relative error `<= 1e-9`) is used, otherwise
/// three significant digits. Magnitudes `>= 1e6` or `< 1e-3` (after unit scaling) use `e` notation.
public enum TickFormat: Sendable, Hashable {
    /// The number itself: `0`, `0.25`, `1500`, `2e6`.
    case plain
    /// Token counts in binary multiples: `512`, `1K` (1024), `128K` (131072), `1M` (1048576), `1.5M`.
    /// On a linear axis the ticks step by powers of two so that labels stay round.
    case tokens
    /// Durations given in seconds: `40 ns`, `850 µs`, `12 ms`, `1.5 s`, `120 s`.
    case seconds
    /// Byte counts in decimal (SI) units: `512 B`, `64 kB`, `512 MB`, `1.2 GB`, `3 TB`.
    case bytes
    /// Byte counts in binary (IEC) units: `512 B`, `64 KiB`, `512 MiB`, `1.5 GiB`.
    /// On a linear axis the ticks step by powers of two.
    case binaryBytes
    /// Dimensionless ratios (speed-ups): `1×`, `2.5×`.
    case ratio
    /// Fractions shown as percentages: `0.25` → `25%`.
    case percent

    /// Whether a linear axis with this format should step by powers of two rather than 1-2-5.
    var prefersBinarySteps: Bool {
        switch self {
        case .tokens, .binaryBytes: return true
        default: return false
        }
    }

    /// Formats `value` for display, e.g. `TickFormat.seconds.format(0.012) == "12 ms"`.
    /// Non-finite values are written as `NaN`, `∞` or `-∞`.
    public func format(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "-∞") }
        if value == 0 {
            switch self {
            case .plain, .tokens: return "0"
            case .seconds: return "0 s"
            case .bytes, .binaryBytes: return "0 B"
            case .ratio: return "0×"
            case .percent: return "0%"
            }
        }
        let sign = value < 0 ? "-" : ""
        let v = abs(value)
        switch self {
        case .plain:
            return sign + NumberText.compact(v)
        case .ratio:
            return sign + NumberText.compact(v) + "×"
        case .percent:
            return sign + NumberText.compact(v * 100) + "%"
        case .tokens:
            return sign + NumberText.scaled(v, base: 1024, units: ["", "K", "M", "G", "T"], separator: "")
        case .binaryBytes:
            return sign + NumberText.scaled(v, base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], separator: " ")
        case .bytes:
            return sign + NumberText.scaled(v, base: 1000, units: ["B", "kB", "MB", "GB", "TB", "PB"], separator: " ")
        case .seconds:
            let (scaled, unit): (Double, String)
            if v < 1e-6 {
                (scaled, unit) = (v * 1e9, "ns")
            } else if v < 1e-3 {
                (scaled, unit) = (v * 1e6, "µs")
            } else if v < 1 {
                (scaled, unit) = (v * 1e3, "ms")
            } else {
                (scaled, unit) = (v, "s")
            }
            return sign + NumberText.compact(scaled) + " " + unit
        }
    }
}

/// Deterministic, locale-independent number formatting (no `String(format:)`, no `Locale`).
enum NumberText {
    /// `v >= 0` scaled to the largest unit with `v / base^k >= 1`, then ``compact(_:)`` plus unit.
    static func scaled(_ v: Double, base: Double, units: [String], separator: String) -> String {
        var k = 0
        var s = v
        while k < units.count - 1 && s >= base {
            s /= base
            k += 1
        }
        // Rounding can produce e.g. "1024K"; move to the next unit when that happens.
        if k < units.count - 1, NumberText.compact(s) == NumberText.compact(base) {
            s /= base
            k += 1
        }
        return NumberText.compact(s) + separator + units[k]
    }

    /// Shortest exact text with at most 3 fraction digits, else 3 significant digits; `e` notation
    /// outside `[1e-3, 1e6)`. `v` must be finite and `>= 0`.
    static func compact(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v >= 1e6 || v < 1e-3 {
            var e = Foundation.floor(Foundation.log10(v))
            // Split the division so that 10^e does not underflow to 0 for subnormal values.
            var m = e < -300 ? (v * 1e300) / Foundation.pow(10, e + 300) : v / Foundation.pow(10, e)
            if fixedShortest(m, maxDecimals: 2) == "10" { m /= 10; e += 1 }
            return fixedShortest(m, maxDecimals: 2) + "e" + String(Int(e))
        }
        for d in 0...3 {
            let p = Foundation.pow(10, Double(d))
            let r = (v * p).rounded() / p
            if abs(r - v) <= 1e-9 * v { return fixed(v, decimals: d) }
        }
        // Not short: three significant digits.
        let digitsBeforePoint = Int(Foundation.floor(Foundation.log10(v))) + 1
        return trimmed(fixed(v, decimals: Swift.max(0, 3 - digitsBeforePoint)))
    }

    /// Fewest fraction digits (up to `maxDecimals`) that represent `v` exactly, else `maxDecimals`.
    static func fixedShortest(_ v: Double, maxDecimals: Int) -> String {
        for d in 0...maxDecimals {
            let p = Foundation.pow(10, Double(d))
            if abs((v * p).rounded() / p - v) <= 1e-9 * abs(v) { return fixed(v, decimals: d) }
        }
        return trimmed(fixed(v, decimals: maxDecimals))
    }

    /// `v` rounded half away from zero to `decimals` fraction digits, e.g. `fixed(-1.005, 1) == "-1.0"`.
    /// `|v| * 10^decimals` must be below 2^53 (callers keep values small).
    static func fixed(_ v: Double, decimals: Int) -> String {
        let p = Foundation.pow(10, Double(decimals))
        let scaled = (abs(v) * p).rounded()
        // Callers pass small values; anything else is written in `e` notation rather than trapping.
        guard scaled.isFinite, scaled < 9.0e15 else { return v.isFinite ? (v < 0 ? "-" : "") + compact(abs(v)) : "0" }
        let n = UInt64(scaled)
        let pi = UInt64(p)
        let intPart = n / pi
        let frac = n % pi
        var text = String(intPart)
        if decimals > 0 {
            var f = String(frac)
            while f.count < decimals { f = "0" + f }
            text += "." + f
        }
        return (v < 0 && n != 0 ? "-" : "") + text
    }

    /// Removes trailing fraction zeros and a trailing point: `"1.50"` → `"1.5"`, `"2.0"` → `"2"`.
    static func trimmed(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = Substring(s)
        while t.hasSuffix("0") { t = t.dropLast() }
        if t.hasSuffix(".") { t = t.dropLast() }
        return String(t)
    }

    /// Pixel coordinate text: two fraction digits, trailing zeros trimmed, clamped to ±1e6 px.
    static func px(_ v: Double) -> String {
        let c = v.isFinite ? Swift.min(Swift.max(v, -1e6), 1e6) : 0
        return trimmed(fixed(c, decimals: 2))
    }
}
