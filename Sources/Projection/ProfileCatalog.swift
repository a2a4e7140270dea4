import DistributedAttention
import ClusterSpec
import ConfigFiles
import Foundation

/// Finds device and link profiles by name: the built-ins first, then YAML files in a user
/// directory (`<dir>/devices/<name>.yaml` or `<dir>/<name>.yaml` for devices, `<dir>/links/<name>.yaml`
/// or `<dir>/<name>.yaml` for links). A name that is a path to an existing `.yaml` file is loaded
/// directly. To change a built-in, copy its file from `profiles/`, rename it and edit it.
public struct ProfileCatalog: Sendable {
    /// Where user profiles live (nil: built-ins only).
    public var userDirectory: String?

    public init(userDirectory: String? = nil) {
        self.userDirectory = userDirectory
    }

    /// A built-in device (or a `.yaml` path) by name; same as `ProfileCatalog().device(named:)`.
    public static func device(named name: String) throws(ProjectionError) -> DeviceSpec {
        try ProfileCatalog().device(named: name)
    }

    /// A built-in link (or a `.yaml` path) by name; same as `ProfileCatalog().link(named:)`.
    public static func link(named name: String) throws(ProjectionError) -> LinkSpec {
        try ProfileCatalog().link(named: name)
    }

    /// A device by name.
    /// - Throws: ``ProjectionError`` listing the known names, or the YAML error of a user file.
    public func device(named name: String) throws(ProjectionError) -> DeviceSpec {
        if let d = Self.builtInDevices.first(where: { $0.name == name }) { return d }
        if let file = find(name, subfolder: "devices") { return try Self.loadDevice(file: file) }
        throw ProjectionError(.unknownName(kind: "device", name: name, known: knownNames(Self.builtInDevices.map(\.name), "devices")))
    }

    /// A link by name.
    /// - Throws: ``ProjectionError`` listing the known names, or the YAML error of a user file.
    public func link(named name: String) throws(ProjectionError) -> LinkSpec {
        if let l = Self.builtInLinks.first(where: { $0.name == name }) { return l }
        if let file = find(name, subfolder: "links") { return try Self.loadLink(file: file) }
        throw ProjectionError(.unknownName(kind: "link", name: name, known: knownNames(Self.builtInLinks.map(\.name), "links")))
    }

    /// Every device name this catalog resolves: the built-ins, then the user directory's files.
    public var deviceNames: [String] { knownNames(Self.builtInDevices.map(\.name), "devices") }

    /// Every link name this catalog resolves: the built-ins, then the user directory's files.
    public var linkNames: [String] { knownNames(Self.builtInLinks.map(\.name), "links") }

    /// Checks that the user directory, when set, exists and is a directory.
    /// - Throws: ``ProjectionError`` naming the directory and what it is instead.
    public func checkUserDirectory() throws(ProjectionError) {
        guard let dir = userDirectory else { return }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) else {
            throw ProjectionError(.unreadable(file: dir, reason: "profile directory not found"))
        }
        guard isDirectory.boolValue else {
            throw ProjectionError(.unreadable(file: dir, reason: "is a file; expected a directory of profile YAML files"))
        }
    }

    /// A name that ends in `.yaml`/`.yml` or contains a `/` is a path: it is returned as is (so that a
    /// missing file is reported as such, not as an unknown name). Other names are looked up in the user
    /// directory.
    private func find(_ name: String, subfolder: String) -> String? {
        let fm = FileManager.default
        if name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.contains("/") { return name }
        guard let dir = userDirectory else { return nil }
        for candidate in ["\(dir)/\(subfolder)/\(name).yaml", "\(dir)/\(name).yaml"] where fm.fileExists(atPath: candidate) {
            return candidate
        }
        return nil
    }

    private func knownNames(_ builtIn: [String], _ subfolder: String) -> [String] {
        guard let dir = userDirectory else { return builtIn }
        var user: [String] = []
        for folder in ["\(dir)/\(subfolder)", dir] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            user += files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
        }
        return builtIn + user.sorted().filter { !builtIn.contains($0) }
    }
}

// MARK: - YAML

extension ProfileCatalog {
    /// Reads a device profile YAML file (strict: unknown fields are errors; every number is checked).
    ///
    /// ```yaml
    /// name: h100-sxm
    /// summary: NVIDIA H100 SXM5 80GB HBM3
    /// flops_per_second: {value: 989e12, source: spec, note: "datasheet, dense BF16"}
    /// memory_bandwidth_bytes_per_second: {value: 3.35e12, source: spec, note: "..."}
    /// memory_capacity_bytes: {value: 80000000000, source: spec, note: "..."}
    /// kernel_overhead_seconds: {value: 6e-6, source: calibrated, note: "..."}
    /// compute_units: {value: 132, source: spec, note: "132 SMs"}
    /// kernel_tiling: cuda                  # or untiled (KernelTiling presets)
    /// efficiency: {source: calibrated, note: "...", gemm_max: 0.7, memory: 0.88, ...}
    /// ring_attention_efficiency: {value: 1, source: assumed, note: "..."}   # (0, 1]
    /// ring_overlaps_transfer: {value: true, source: published, note: "..."}
    /// framework: {value: hf-reference, source: published, note: "..."}   # optional; fused by default
    /// ```
    public static func loadDevice(file: String) throws(ProjectionError) -> DeviceSpec {
        do {
            return try parseDevice(ConfigNode.load(file: file))
        } catch {
            throw ProjectionError(.config(error.description))
        }
    }

    /// Parses device profile YAML text; `file` is used in messages.
    public static func parseDevice(yaml text: String, file: String) throws(ProjectionError) -> DeviceSpec {
        do {
            return try parseDevice(ConfigNode.parse(text, file: file))
        } catch {
            throw ProjectionError(.config(error.description))
        }
    }

    /// Reads a link profile YAML file (`name`, `summary`, `bandwidth_bytes_per_second`, `latency_seconds`,
    /// `message_overhead_seconds`, each number a `{value, source, note}` mapping).
    public static func loadLink(file: String) throws(ProjectionError) -> LinkSpec {
        do {
            return try parseLink(ConfigNode.load(file: file))
        } catch {
            throw ProjectionError(.config(error.description))
        }
    }

    /// Parses link profile YAML text; `file` is used in messages.
    public static func parseLink(yaml text: String, file: String) throws(ProjectionError) -> LinkSpec {
        do {
            return try parseLink(ConfigNode.parse(text, file: file))
        } catch {
            throw ProjectionError(.config(error.description))
        }
    }

    static func parseDevice(_ root: ConfigNode) throws(ConfigError) -> DeviceSpec {
        let name = try root.string("name")
        let summary = try root.string("summary", default: "")
        let flops = try labelledDouble(root, "flops_per_second", range: InputLimits.flopsPerSecond)
        let bw = try labelledDouble(root, "memory_bandwidth_bytes_per_second", range: InputLimits.memoryBandwidthBytesPerSecond)
        let cap = try labelledInt(root, "memory_capacity_bytes", range: InputLimits.memoryCapacityBytes)
        let overhead = try labelledDouble(root, "kernel_overhead_seconds", range: InputLimits.latencySeconds)
        let units = try labelledInt(root, "compute_units", range: InputLimits.computeUnits)
        let tiling = try root.required("kernel_tiling", expected: "one of cuda, untiled")
            .asChoice(["cuda": KernelTiling.cuda, "untiled": KernelTiling.untiled])
        let effNode = try root.required("efficiency", expected: "a mapping with source, note and the efficiency fields")
        var eff = EfficiencyParameters.calibratedH100
        for field in EfficiencyParameters.fields {
            eff[keyPath: field.path] = try effNode.double(field.key, range: field.range)
        }
        let effSource = try provenance(effNode)
        try effNode.finish()
        let ringEff = try labelledDouble(root, "ring_attention_efficiency", range: 0...1, excludingZero: true)
        let overlapNode = try root.required("ring_overlaps_transfer", expected: "a mapping with value (true or false), source, note")
        guard overlapNode.isMapping else {
            throw overlapNode.error("expected a mapping with value (true or false), source, note; found \(overlapNode.kind)")
        }
        let overlaps = try overlapNode.required("value", expected: "true or false").asBool()
        let overlapSource = try provenance(overlapNode)
        try overlapNode.finish()
        var framework = DeviceSpec.fusedFramework
        if let node = root.optional("framework") {
            let expected = "a mapping with value (fused or hf-reference), source, note"
            guard node.isMapping else { throw node.error("expected \(expected); found \(node.kind)") }
            let value = try node.required("value", expected: "fused or hf-reference")
                .asChoice(["fused": Framework.fused, "hf-reference": Framework.hfReference])
            framework = Labelled(value, try provenance(node))
            try node.finish()
        }
        let range = try root.optional("calibrated_range").map { n throws(ConfigError) in try calibratedRange(n) }
        try root.finish()
        var spec = DeviceSpec(
            name: name, summary: summary, flopsPerSecond: flops, memoryBandwidthBytesPerSecond: bw,
            memoryCapacityBytes: Labelled(Int64(cap.value), cap.source), kernelOverheadSeconds: overhead,
            computeUnits: units, tiling: tiling,
            efficiency: eff, efficiencySource: effSource, ringAttentionEfficiency: ringEff,
            ringOverlapsTransfer: Labelled(overlaps, overlapSource))
        spec.calibratedRange = range
        spec.framework = framework
        return spec
    }

    /// `calibrated_range: {source: FILE, linear_tokens: [lo, hi], attention_keys: [lo, hi],
    /// decode_keys: [lo, hi] (optional), hidden: [lo, hi]}`.
    static func calibratedRange(_ node: ConfigNode) throws(ConfigError) -> CalibratedRange {
        guard node.isMapping else { throw node.error("expected a mapping with source, linear_tokens, attention_keys, hidden; found \(node.kind)") }
        func pair(_ key: String, _ limit: ClosedRange<Int>) throws(ConfigError) -> ClosedRange<Int>? {
            guard let n = node.optional(key) else { return nil }
            let items = try n.asList()
            guard items.count == 2 else { throw n.error("expected [lowest, highest], found \(items.count) values") }
            let lo = try items[0].asInt(range: limit), hi = try items[1].asInt(range: limit)
            guard lo <= hi else { throw n.error("\(lo) is above \(hi); expected [lowest, highest]") }
            return lo...hi
        }
        func required(_ key: String, _ limit: ClosedRange<Int>) throws(ConfigError) -> ClosedRange<Int> {
            guard let r = try pair(key, limit) else { throw node.error("missing; expected [lowest, highest]", field: key) }
            return r
        }
        let source = try node.string("source")
        let tokens = 1...InputLimits.contextTokens.upperBound
        let range = CalibratedRange(
            source: source, linearTokens: try required("linear_tokens", tokens),
            attentionKeys: try required("attention_keys", tokens), decodeKeys: try pair("decode_keys", tokens),
            hidden: try required("hidden", ModelShape.limits.hidden))
        try node.finish()
        return range
    }

    static func parseLink(_ root: ConfigNode) throws(ConfigError) -> LinkSpec {
        let name = try root.string("name")
        let summary = try root.string("summary", default: "")
        let bw = try labelledDouble(root, "bandwidth_bytes_per_second", range: InputLimits.linkBandwidthBytesPerSecond)
        let latency = try labelledDouble(root, "latency_seconds", range: InputLimits.latencySeconds)
        let overhead = try labelledDouble(root, "message_overhead_seconds", range: InputLimits.latencySeconds)
        try root.finish()
        return LinkSpec(name: name, summary: summary, bandwidthBytesPerSecond: bw, latencySeconds: latency,
                        messageOverheadSeconds: overhead)
    }

    /// `key: {value: <number>, source: spec|calibrated|measured|assumed, note: <text>}`; the value must be
    /// finite and in `range` (`excludingZero`: and not 0).
    private static func labelledDouble(
        _ root: ConfigNode, _ key: String, range: ClosedRange<Double>, excludingZero: Bool = false
    ) throws(ConfigError) -> Labelled<Double> {
        let node = try root.required(key, expected: "a mapping with value, source, note")
        guard node.isMapping else { throw node.error("expected a mapping with value, source, note; found \(node.kind)") }
        let value = try node.double("value", range: range)
        if excludingZero && value == 0 {
            throw node.error("0 is not allowed; expected a number in (\(YAMLText.number(range.lowerBound)), \(YAMLText.number(range.upperBound))]", field: "value")
        }
        let source = try provenance(node)
        try node.finish()
        return Labelled(value, source)
    }

    /// `key: {value: <integer>, source: …, note: …}`; the value must be in `range`.
    private static func labelledInt(_ root: ConfigNode, _ key: String, range: ClosedRange<Int>) throws(ConfigError) -> Labelled<Int> {
        let node = try root.required(key, expected: "a mapping with value, source, note")
        guard node.isMapping else { throw node.error("expected a mapping with value, source, note; found \(node.kind)") }
        let value = try node.int("value", range: range)
        let source = try provenance(node)
        try node.finish()
        return Labelled(value, source)
    }

    private static func provenance(_ node: ConfigNode) throws(ConfigError) -> Provenance {
        let kind = try node.required("source", expected: "one of spec, calibrated, measured, assumed, published, fitted")
            .asChoice(["spec": Provenance.Kind.spec, "calibrated": .calibrated, "measured": .measured, "assumed": .assumed,
                       "published": .published, "fitted": .fitted])
        let note = try node.string("note", default: "")
        return Provenance(kind, note)
    }
}

// MARK: - Writing YAML

extension DeviceSpec {
    /// The profile as YAML text that ``ProfileCatalog/parseDevice(yaml:file:)`` reads back unchanged.
    public var yaml: String {
        var s = "# Device profile (values per device). Edit, rename, and load with ProfileCatalog(userDirectory:).\n"
        s += "# source: spec | calibrated | measured | assumed | published | fitted. Units: FLOP/s, bytes/s, bytes, seconds.\n"
        s += "name: \(YAMLText.quoted(name))\nsummary: \(YAMLText.quoted(summary))\n"
        s += YAMLText.labelled("flops_per_second", YAMLText.number(flopsPerSecond.value), flopsPerSecond.source)
        s += YAMLText.labelled(
            "memory_bandwidth_bytes_per_second", YAMLText.number(memoryBandwidthBytesPerSecond.value),
            memoryBandwidthBytesPerSecond.source)
        s += YAMLText.labelled("memory_capacity_bytes", "\(memoryCapacityBytes.value)", memoryCapacityBytes.source)
        s += YAMLText.labelled("kernel_overhead_seconds", YAMLText.number(kernelOverheadSeconds.value), kernelOverheadSeconds.source)
        s += YAMLText.labelled("compute_units", "\(computeUnits.value)", computeUnits.source)
        s += "kernel_tiling: \(tiling.name)\n"
        s += "efficiency:\n  source: \(efficiencySource.kind.rawValue)\n  note: \(YAMLText.quoted(efficiencySource.note))\n"
        for field in EfficiencyParameters.fields {
            s += "  \(field.key): \(YAMLText.number(efficiency[keyPath: field.path]))\n"
        }
        s += YAMLText.labelled(
            "ring_attention_efficiency", YAMLText.number(ringAttentionEfficiency.value), ringAttentionEfficiency.source)
        s += YAMLText.labelled("ring_overlaps_transfer", "\(ringOverlapsTransfer.value)", ringOverlapsTransfer.source)
        s += YAMLText.labelled("framework", framework.value.rawValue, framework.source)
        if let r = calibratedRange {
            func pair(_ x: ClosedRange<Int>) -> String { "[\(x.lowerBound), \(x.upperBound)]" }
            s += "calibrated_range:\n  # the shapes the efficiencies were measured on; projections outside them say so\n"
            s += "  source: \(YAMLText.quoted(r.source))\n  linear_tokens: \(pair(r.linearTokens))\n"
            s += "  attention_keys: \(pair(r.attentionKeys))\n"
            if let d = r.decodeKeys { s += "  decode_keys: \(pair(d))\n" }
            s += "  hidden: \(pair(r.hidden))\n"
        }
        return s
    }
}

extension LinkSpec {
    /// The profile as YAML text that ``ProfileCatalog/parseLink(yaml:file:)`` reads back unchanged.
    public var yaml: String {
        var s = "# Link profile (per direction). Edit, rename, and load with ProfileCatalog(userDirectory:).\n"
        s += "# source: spec | calibrated | measured | assumed | published | fitted. Units: bytes/s, seconds.\n"
        s += "name: \(YAMLText.quoted(name))\nsummary: \(YAMLText.quoted(summary))\n"
        s += YAMLText.labelled("bandwidth_bytes_per_second", YAMLText.number(bandwidthBytesPerSecond.value), bandwidthBytesPerSecond.source)
        s += YAMLText.labelled("latency_seconds", YAMLText.number(latencySeconds.value), latencySeconds.source)
        s += YAMLText.labelled(
            "message_overhead_seconds", YAMLText.number(messageOverheadSeconds.value), messageOverheadSeconds.source)
        return s
    }
}

enum YAMLText {
    /// Shortest `%g` text that parses back to exactly `x` (`9.89e+14`, `0.88`, `5e-06`).
    static func number(_ x: Double) -> String {
        for precision in 1...17 {
            let text = String(format: "%.\(precision)g", x)
            if Double(text) == x { return text }
        }
        return "\(x)"
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                // Other control characters (and the ones YAML folds or refuses) as \uXXXX.
                if ch.value < 0x20 || ch.value == 0x7F || (0x80...0x9F).contains(ch.value) || ch.value == 0x2028
                    || ch.value == 0x2029 || ch.value == 0xFEFF {
                    out += String(format: "\\u%04X", ch.value)
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out + "\""
    }

    static func labelled(_ key: String, _ value: String, _ source: Provenance) -> String {
        "\(key):\n  value: \(value)\n  source: \(source.kind.rawValue)\n  note: \(quoted(source.note))\n"
    }
}
