import OmniCore

/// The ggml tensor types this plugin stores (ids from ggml.h `enum ggml_type`), and their `DType`.
enum GGMLType: UInt32, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q5_0 = 6, q8_0 = 8, q4_k = 12, q6_k = 14, i8 = 24, i32 = 26, i64 = 27, bf16 = 30

    /// Our element type.
    var dtype: DType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .q4_0: return .q4_0
        case .q5_0: return .q5_0
        case .q8_0: return .q8_0
        case .q4_k: return .q4_k
        case .q6_k: return .q6_k
        case .i8: return .i8
        case .i32: return .i32
        case .i64: return .i64
        case .bf16: return .bf16
        }
    }

    /// The ggml type for `dtype`, or nil when GGUF has none (u8, bool).
    init?(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0
        case .q5_0: self = .q5_0
        case .q4_k: self = .q4_k
        case .q6_k: self = .q6_k
        case .i8: self = .i8
        case .i32: self = .i32
        case .i64: self = .i64
        case .u8, .bool: return nil
        }
    }

    /// Names of the ggml types we do not read, for error messages.
    static func name(of raw: UInt32) -> String {
        let names: [UInt32: String] = [3: "Q4_1", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 13: "Q5_K",
                                       15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
                                       20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 25: "I16", 28: "F64",
                                       29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0"]
        return names[raw] ?? "ggml type \(raw)"
    }
}
