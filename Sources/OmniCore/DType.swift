/// Element types a tensor can hold, including GGUF-style block-quantized types.
///
/// Quantized types store `blockElements` values in `blockBytes` bytes:
/// - `q8_0`: 32 values as one f16 scale `d` followed by 32 `int8` quants; value = d * q.
/// - `q4_0`: 32 values as one f16 scale `d` followed by 16 bytes; byte j holds element j in its low
///   nibble and element j+16 in its high nibble; value = d * (nibble - 8).
public enum DType: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case f32, f16, bf16, i8, i32, i64, u8, bool, q8_0, q4_0

    /// Values per storage block (1 for plain types, 32 for the quantized ones).
    public var blockElements: Int {
        switch self {
        case .q8_0, .q4_0: return 32
        default: return 1
        }
    }

    /// Bytes per storage block.
    public var blockBytes: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16: return 2
        case .i8, .u8, .bool: return 1
        case .i64: return 8
        case .q8_0: return 34
        case .q4_0: return 18
        }
    }

    /// True for the block-quantized types.
    public var isQuantized: Bool { blockElements > 1 }

    /// True for f32, f16 and bf16.
    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// Bytes needed for `elements` values, or nil when `elements` is not a whole number of blocks.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    public var description: String { rawValue }

    /// Parses user spellings: `f32`, `float32`, `bfloat16`, `q8_0`, `Q4_0`, `torch.float16`…
    public init?(userSpelling: String) {
        var s = userSpelling.lowercased()
        if s.hasPrefix("torch.") { s.removeFirst(6) }
        switch s {
        case "f32", "float32", "float", "fp32": self = .f32
        case "f16", "float16", "half", "fp16": self = .f16
        case "bf16", "bfloat16": self = .bf16
        case "i8", "int8": self = .i8
        case "i32", "int32": self = .i32
        case "i64", "int64", "long": self = .i64
        case "u8", "uint8": self = .u8
        case "bool": self = .bool
        case "q8_0", "q8": self = .q8_0
        case "q4_0", "q4": self = .q4_0
        default: return nil
        }
    }
}
