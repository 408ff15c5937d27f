/// Element types a tensor can hold, including GGUF-style block-quantized types.
///
/// Quantized types store `blockElements` values in `blockBytes` bytes:
/// - `q8_0`: 32 values as one f16 scale `d` followed by 32 `int8` quants; value = d * q.
/// - `q4_0`: 32 values as one f16 scale `d` followed by 16 bytes; byte j holds element j in its low
///   nibble and element j+16 in its high nibble; value = d * (nibble - 8).
/// - `q5_0`: 32 values as f16 `d`, 4 bytes of fifth bits, 16 bytes of nibbles (as q4_0); value = d * (q - 16).
/// - `q4_k`, `q6_k`: llama.cpp's k-quants, 256-value super-blocks of 144 and 210 bytes (layouts in
///   CKernels/kquants.c); read from GGUF files and computed as stored, never produced by a conversion.
public enum DType: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    case f32, f16, bf16, i8, i32, i64, u8, bool, q8_0, q4_0, q5_0, q4_k, q6_k

    /// Values per storage block (1 for plain types, 32 for Q8_0/Q4_0/Q5_0, 256 for the k-quants).
    public var blockElements: Int {
        switch self {
        case .q8_0, .q4_0, .q5_0: return 32
        case .q4_k, .q6_k: return 256
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
        case .q5_0: return 22
        case .q4_k: return 144
        case .q6_k: return 210
        }
    }

    /// True for the block-quantized types.
    public var isQuantized: Bool { blockElements > 1 }

    /// True for the types a conversion can produce (f32, f16, bf16, q8_0, q4_0): q5_0, q4_k and q6_k are only
    /// read (from llama.cpp's GGUF files) and computed as stored.
    public var isConversionTarget: Bool { isFloatingPoint || self == .q8_0 || self == .q4_0 }

    /// True for f32, f16 and bf16.
    public var isFloatingPoint: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// Bytes needed for `elements` values, or nil when `elements` is not a whole number of blocks.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }

    public var description: String { rawValue }

    /// Parses user spellings: `f32`, `float32`, `bfloat16`, `q8_0`, `Q4_0`, `Q4_K`, `torch.float16`…
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
        case "q5_0": self = .q5_0
        case "q4_k": self = .q4_k
        case "q6_k": self = .q6_k
        default: return nil
        }
    }
}
