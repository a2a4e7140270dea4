/// A GGUF metadata value (GGUF spec `gguf_metadata_value_type`).
///
/// Arrays are typed in the file: every element has the array's declared element type,
/// and arrays may nest (each inner array carries its own element type and count).
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// The on-disk type number (0 = uint8 … 12 = float64).
    public var typeCode: UInt32 {
        switch self {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    /// Human-readable type name, e.g. `"uint32"`, `"array<string>"`.
    public var typeName: String {
        if case .array(let a) = self {
            return "array<\(a.first.map { $0.typeName } ?? "empty")>"
        }
        return GGUFValue.typeName(code: typeCode)
    }

    static func typeName(code: UInt32) -> String {
        switch code {
        case 0: return "uint8"
        case 1: return "int8"
        case 2: return "uint16"
        case 3: return "int16"
        case 4: return "uint32"
        case 5: return "int32"
        case 6: return "float32"
        case 7: return "bool"
        case 8: return "string"
        case 9: return "array"
        case 10: return "uint64"
        case 11: return "int64"
        case 12: return "float64"
        default: return "unknown(\(code))"
        }
    }

    /// The value as `Int` if it is any integer type and fits; `nil` otherwise (bools and floats are not integers).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// The value as `Double` if it is a float or integer type; `nil` otherwise.
    public var doubleValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        case .uint64(let v): return Double(v)
        default: return intValue.map(Double.init)
        }
    }

    /// The string payload, or `nil` if not a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The array elements, or `nil` if not an array.
    public var arrayValue: [GGUFValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The bool payload, or `nil` if not a bool.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
}
