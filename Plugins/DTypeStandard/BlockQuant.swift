import OmniCore

/// The ggml reference formulas for Q8_0 and Q4_0 blocks (ggml-quants.c `quantize_row_q8_0_ref`,
/// `quantize_row_q4_0_ref`, `dequantize_row_q8_0`, `dequantize_row_q4_0`), bit for bit.
///
/// A block is 32 values. Q8_0: f16 scale `d` then 32 `int8` quants (34 bytes). Q4_0: f16 scale `d` then
/// 16 bytes, byte j = element j (low nibble) | element j+16 (high nibble) (18 bytes).
/// Float → integer casts follow C on x86-64 (`cvttss2si`): a NaN or out-of-range value becomes
/// `INT32_MIN`, whose low byte is 0, so non-finite input gives the same bytes ggml writes there.
public enum BlockQuant {
    /// Values per block.
    public static let blockSize = 32

    /// C `(int8_t)(float)` as compiled for x86-64: truncate toward zero to 32 bits, keep the low byte.
    @inline(__always)
    static func cInt8(_ v: Float) -> Int8 {
        guard v.isFinite, v > -2_147_483_904, v < 2_147_483_648 else { return 0 }
        return Int8(truncatingIfNeeded: Int32(v))
    }

    /// Quantizes 32 f32 values (`x`: (32)) into one Q8_0 block (`y`: 34 bytes).
    @inline(__always)
    public static func quantizeBlockQ8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0..<32 {
            let a = abs(x[j])
            amax = amax > a ? amax : a // C MAX(a, b): ((a) > (b) ? (a) : (b)), so a NaN propagates
        }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        y.storeBytes(of: Scalar.floatToF16(d).littleEndian, as: UInt16.self)
        let qs = (y + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 {
            // roundf: half away from zero, which is Swift's `.toNearestOrAwayFromZero`.
            qs[j] = cInt8((x[j] * id).rounded(.toNearestOrAwayFromZero))
        }
    }

    /// Quantizes 32 f32 values (`x`: (32)) into one Q4_0 block (`y`: 18 bytes).
    @inline(__always)
    public static func quantizeBlockQ4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
        var amax: Float = 0
        var maxv: Float = 0
        for j in 0..<32 {
            let v = x[j]
            if amax < abs(v) { amax = abs(v); maxv = v }
        }
        let d = maxv / -8
        let id: Float = d != 0 ? 1 / d : 0
        y.storeBytes(of: Scalar.floatToF16(d).littleEndian, as: UInt16.self)
        let qs = (y + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            // uint8_t xi = MIN(15, (int8_t)(x * id + 8.5f)); qs[j] = xi0 | xi1 << 4 (stored as uint8_t).
            let xi0 = UInt8(truncatingIfNeeded: min(15, Int(cInt8(x[j] * id + 8.5))))
            let xi1 = UInt8(truncatingIfNeeded: min(15, Int(cInt8(x[j + 16] * id + 8.5))))
            qs[j] = xi0 | (xi1 &<< 4)
        }
    }

    /// Expands one Q8_0 block (34 bytes) into 32 f32 values (`y`: (32)).
    @inline(__always)
    public static func dequantizeBlockQ8_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = Scalar.f16ToFloat(UInt16(littleEndian: x.loadUnaligned(as: UInt16.self)))
        let qs = (x + 2).assumingMemoryBound(to: Int8.self)
        for j in 0..<32 { y[j] = Float(qs[j]) * d }
    }

    /// Expands one Q4_0 block (18 bytes) into 32 f32 values (`y`: (32)).
    @inline(__always)
    public static func dequantizeBlockQ4_0(_ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = Scalar.f16ToFloat(UInt16(littleEndian: x.loadUnaligned(as: UInt16.self)))
        let qs = (x + 2).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 {
            y[j] = Float(Int(qs[j] & 0x0F) - 8) * d
            y[j + 16] = Float(Int(qs[j] >> 4) - 8) * d
        }
    }
}
