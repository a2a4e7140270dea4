/// Where a profile value comes from, so that every projected number can be traced to a source.
public struct Provenance: Sendable, Hashable, CustomStringConvertible {
    /// The kind of source.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A vendor specification sheet.
        case spec
        /// Fitted to measurements (a calibration file).
        case calibrated
        /// Measured on this machine (or derived from a measurement recorded in the project).
        case measured
        /// An assumption; no source. Change it when you have one.
        case assumed
        /// Taken from a published source that is not a spec sheet: a paper, its reference code, a
        /// third-party benchmark (the note cites it).
        case published
        /// Fitted to the published results that the projection is compared against (e.g. the Star
        /// Attention paper's Table 6). Such a value is not an independent prediction: report errors
        /// on cells that were *not* used for the fit (see `Docs/Capacity.md`).
        case fitted
    }

    public var kind: Kind
    /// Free text: which sheet, which file, which measurement, why this assumption.
    public var note: String

    public init(_ kind: Kind, _ note: String) {
        self.kind = kind
        self.note = note
    }

    public static func spec(_ note: String) -> Provenance { Provenance(.spec, note) }
    public static func calibrated(_ note: String) -> Provenance { Provenance(.calibrated, note) }
    public static func measured(_ note: String) -> Provenance { Provenance(.measured, note) }
    public static func assumed(_ note: String) -> Provenance { Provenance(.assumed, note) }
    public static func published(_ note: String) -> Provenance { Provenance(.published, note) }
    public static func fitted(_ note: String) -> Provenance { Provenance(.fitted, note) }

    public var description: String { "\(kind.rawValue): \(note)" }
}

/// A number with its source.
public struct Labelled<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var source: Provenance

    public init(_ value: Value, _ source: Provenance) {
        self.value = value
        self.source = source
    }
}
