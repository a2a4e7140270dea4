import Foundation
import Plots

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// One parsed SVG element: its name, attributes, direct text, and the `class` values of the
/// enclosing elements (outermost first).
struct SVGNode {
    var name: String
    var attributes: [String: String]
    var text: String
    var ancestorClasses: [String]

    func inside(_ cssClass: String) -> Bool { ancestorClasses.contains(cssClass) }
    var cssClass: String? { attributes["class"] }
    func number(_ key: String) -> Double? { attributes[key].flatMap(Double.init) }
}

/// Parses SVG text with Foundation's `XMLParser`; `nil` when it is not well-formed XML.
func parseSVG(_ svg: String) -> [SVGNode]? {
    final class Collector: NSObject, XMLParserDelegate {
        var nodes: [SVGNode] = []
        var stack: [Int] = []  // indices into nodes
        var classStack: [String] = []

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
            qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]
        ) {
            nodes.append(SVGNode(name: elementName, attributes: attributeDict, text: "", ancestorClasses: classStack))
            stack.append(nodes.count - 1)
            classStack.append(attributeDict["class"] ?? "")
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let i = stack.last { nodes[i].text += string }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            stack.removeLast()
            classStack.removeLast()
        }
    }
    let parser = XMLParser(data: Data(svg.utf8))
    let collector = Collector()
    parser.delegate = collector
    guard parser.parse() else { return nil }
    return collector.nodes
}

extension Array where Element == SVGNode {
    /// Texts of `<text>` elements with class `cssClass` inside a group with class `group` (if given).
    func texts(_ cssClass: String, in group: String? = nil) -> [String] {
        filter { node in node.name == "text" && node.cssClass == cssClass && (group.map { node.inside($0) } ?? true) }.map(\.text)
    }

    /// Elements named `name` with class `cssClass`.
    func elements(_ name: String, cssClass: String) -> [SVGNode] {
        filter { $0.name == name && $0.cssClass == cssClass }
    }
}

/// Parses a polyline `points` attribute ("x,y x,y") into pairs.
func polylinePoints(_ node: SVGNode) -> [(Double, Double)] {
    (node.attributes["points"] ?? "").split(separator: " ").map { pair in
        let parts = pair.split(separator: ",").map { Double($0)! }
        return (parts[0], parts[1])
    }
}
