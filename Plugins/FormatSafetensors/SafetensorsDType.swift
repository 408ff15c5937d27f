import OmniCore

/// The safetensors spelling of each dtype we store (`F32`, `BF16`…), the one place these names appear.
enum SafetensorsDType {
    /// Our dtype for a header's `dtype` string, or a reason why it cannot be read.
    static func parse(_ s: String) -> Result<DType, Reason> {
        switch s {
        case "F32": return .success(.f32)
        case "F16": return .success(.f16)
        case "BF16": return .success(.bf16)
        case "I8": return .success(.i8)
        case "I32": return .success(.i32)
        case "I64": return .success(.i64)
        case "U8": return .success(.u8)
        case "BOOL": return .success(.bool)
        case "F64", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2",
             "C64":
            return .failure(Reason("unsupported dtype \(s) (supported: \(supported))"))
        default:
            return .failure(Reason("unknown dtype '\(s)' (supported: \(supported))"))
        }
    }

    /// The header spelling of `dtype`, or nil for dtypes safetensors cannot hold (quantized blocks).
    static func name(_ dtype: DType) -> String? {
        switch dtype {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .i8: return "I8"
        case .i32: return "I32"
        case .i64: return "I64"
        case .u8: return "U8"
        case .bool: return "BOOL"
        case .q8_0, .q4_0, .q5_0, .q4_k, .q6_k: return nil
        }
    }

    /// Dtypes the plugin reads and writes.
    static let all: Set<DType> = [.f32, .f16, .bf16, .i8, .i32, .i64, .u8, .bool]
    private static let supported = "F32 F16 BF16 I8 I32 I64 U8 BOOL"
}

/// A validation failure before it is tied to a file and tensor.
struct Reason: Error {
    var text: String
    init(_ text: String) { self.text = text }
}
