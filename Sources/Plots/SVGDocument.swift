/// Marks an SVG document as StarSim's, so that a later run may replace it and nothing else.
public enum SVGGenerator {
    /// An XML comment right after the `<svg>` element's start tag.
    public static let mark = "<!-- generator: starsim -->"
}

/// Minimal append-only SVG text builder. All text and attribute values go through ``escape(_:)``;
/// all coordinates through ``NumberText/px(_:)``, so output is byte-identical for identical input.
struct SVGDocument {
    private(set) var text = ""

    init(width: Double, height: Double, title: String) {
        let w = NumberText.px(width), h = NumberText.px(height)
        text += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        text += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\""
        text += " font-family=\"Helvetica, Arial, sans-serif\" role=\"img\">\n"
        text += SVGGenerator.mark + "\n"
        text += "<title>\(SVGDocument.escape(title))</title>\n"
        text += "<rect x=\"0\" y=\"0\" width=\"\(w)\" height=\"\(h)\" fill=\"#ffffff\"/>\n"
    }

    /// Appends a raw line (callers build it from escaped parts only).
    mutating func raw(_ line: String) {
        text += line
        text += "\n"
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double, extra: String = "") {
        raw("<line x1=\"\(NumberText.px(x1))\" y1=\"\(NumberText.px(y1))\" x2=\"\(NumberText.px(x2))\" y2=\"\(NumberText.px(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(NumberText.px(width))\"\(extra)/>")
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, extra: String = "") {
        raw("<rect x=\"\(NumberText.px(x))\" y=\"\(NumberText.px(y))\" width=\"\(NumberText.px(width))\" height=\"\(NumberText.px(height))\" fill=\"\(fill)\"\(extra)/>")
    }

    /// Text anchored at `(x, y)` (baseline); `anchor` is `start`, `middle` or `end`.
    mutating func text(
        _ content: String, x: Double, y: Double, size: Double, anchor: String = "start",
        weight: String? = nil, fill: String = "#222222", rotate: Bool = false, cssClass: String? = nil
    ) {
        var attrs = "x=\"\(NumberText.px(x))\" y=\"\(NumberText.px(y))\" font-size=\"\(NumberText.px(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
        if let weight { attrs += " font-weight=\"\(weight)\"" }
        if rotate { attrs += " transform=\"rotate(-90 \(NumberText.px(x)) \(NumberText.px(y)))\"" }
        if let cssClass { attrs += " class=\"\(cssClass)\"" }
        raw("<text \(attrs)>\(SVGDocument.escape(content))</text>")
    }

    mutating func finish() -> String {
        text += "</svg>\n"
        return text
    }

    /// Escapes `& < > " '` and replaces characters that XML 1.0 forbids (C0 controls other than
    /// tab, newline and carriage return, lone surrogates cannot occur in `String`) with U+FFFD.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out.unicodeScalars.append("\u{FFFD}")
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Rough width in px of `s` at `size` px in a sans-serif font (0.6 em per character); used only
    /// for layout, so it only needs to be deterministic and not too small.
    static func textWidth(_ s: String, size: Double) -> Double {
        Double(s.count) * size * 0.6
    }
}

/// Okabe & Ito (2008) colour-blind-safe palette, ordered for contrast on white (yellow last).
enum Palette {
    static let colors = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    static func color(_ i: Int) -> String { colors[i % colors.count] }
}

/// Marker shapes cycled per series, so series differ by shape as well as colour (grey-scale prints).
enum Marker: CaseIterable {
    case circle, square, triangleUp, diamond, triangleDown, cross

    static func shape(_ i: Int) -> Marker { allCases[i % allCases.count] }

    /// An SVG element drawing this marker centred at `(x, y)`, radius about `r` px.
    func element(x: Double, y: Double, r: Double, color: String) -> String {
        let p = NumberText.px
        let style = "fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"1\""
        switch self {
        case .circle:
            return "<circle class=\"marker\" cx=\"\(p(x))\" cy=\"\(p(y))\" r=\"\(p(r))\" \(style)/>"
        case .square:
            let s = r * 0.9
            return "<rect class=\"marker\" x=\"\(p(x - s))\" y=\"\(p(y - s))\" width=\"\(p(2 * s))\" height=\"\(p(2 * s))\" \(style)/>"
        case .triangleUp:
            let s = r * 1.25
            return "<path class=\"marker\" d=\"M\(p(x)) \(p(y - s))L\(p(x + s)) \(p(y + s * 0.8))L\(p(x - s)) \(p(y + s * 0.8))Z\" \(style)/>"
        case .triangleDown:
            let s = r * 1.25
            return "<path class=\"marker\" d=\"M\(p(x)) \(p(y + s))L\(p(x + s)) \(p(y - s * 0.8))L\(p(x - s)) \(p(y - s * 0.8))Z\" \(style)/>"
        case .diamond:
            let s = r * 1.3
            return "<path class=\"marker\" d=\"M\(p(x)) \(p(y - s))L\(p(x + s)) \(p(y))L\(p(x)) \(p(y + s))L\(p(x - s)) \(p(y))Z\" \(style)/>"
        case .cross:
            let s = r * 1.1
            return "<path class=\"marker\" d=\"M\(p(x - s)) \(p(y - s))L\(p(x + s)) \(p(y + s))M\(p(x - s)) \(p(y + s))L\(p(x + s)) \(p(y - s))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>"
        }
    }
}

/// The escaping and coordinate text of StarSim's SVG, for other documents that embed SVG or HTML
/// (the HTML report): one implementation, so every output escapes and rounds the same way.
public enum Markup {
    /// `& < > " '` escaped; characters XML forbids replaced (text and attribute values alike).
    public static func escape(_ s: String) -> String { SVGDocument.escape(s) }
    /// A coordinate with at most two decimals, clamped to ±1e6.
    public static func px(_ v: Double) -> String { NumberText.px(v) }
    /// The charts' tick step over `span` for about `target` ticks: 1, 2 or 5 times a power of ten.
    public static func niceStep(span: Double, target: Int) -> Double { Axis.niceStep(span: span, target: target, binary: false) }
}
