/// How a tensor's blocks are arranged in memory beyond what its dtype and shape say.
///
/// Checkpoint files and every format reader give `.standard` (row-major). Other layouts exist only in memory: a
/// CPU kernel asks the weight provider for one (`WeightProvider.tensor(_:layout:prepare:)`), and only the kernels
/// that name the layout read it; anything else that gets such a tensor must refuse it (the executor checks).
public enum TensorLayout: String, Sendable, Equatable {
    /// Row-major blocks, as stored.
    case standard
    /// A Q8_0 matrix [out, in] (out a multiple of 8, in of 32) with its rows interleaved in groups of 8 for the CPU
    /// decode kernels (`omni_q8_0_r8_pack`): per group of 8 rows and block of 32 columns, 272 bytes: the 8 rows'
    /// f16 scales, then 8 runs of 32 bytes, run k holding quants 4k…4k+3 of the group's rows 0…7. As many bytes as
    /// `.standard`; one broadcast of 4 quants of x then feeds 8 output rows.
    case q8_0Rows8
    /// The same for Q4_0 (`omni_q4_0_r8_pack`): per group of 8 rows and block, 144 bytes: the 8 scales, then 4 runs
    /// of 32 bytes, run k holding nibble bytes 4k…4k+3 of rows 0…7.
    case q4_0Rows8

    /// The CPU decode kernels' layout for weights of `dtype`, if they have one.
    public static func interleaved(for dtype: DType) -> TensorLayout? {
        switch dtype {
        case .q8_0: return .q8_0Rows8
        case .q4_0: return .q4_0Rows8
        default: return nil
        }
    }

    /// Whether a tensor of `dtype` and `shape` can be held in this layout.
    public func admits(dtype: DType, shape: Shape) -> Bool {
        switch self {
        case .standard: return true
        case .q8_0Rows8: return dtype == .q8_0 && shape.rank == 2 && shape[0] % 8 == 0 && shape[1] % 32 == 0
        case .q4_0Rows8: return dtype == .q4_0 && shape.rank == 2 && shape[0] % 8 == 0 && shape[1] % 32 == 0
        }
    }
}
