/// Scalar conversions between f32 and the 16-bit float formats (IEEE-754, round to nearest even).
/// Bulk conversions live in the `DTypeStandard` plugin; these serve single values and tests.
public enum Scalar {
    /// bf16 bits → f32 (exact: bf16 is the top half of an f32).
    @inlinable public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// f32 → bf16 bits, round to nearest even; NaN stays NaN (quiet bit set, sign kept).
    @inlinable public static func floatToBF16(_ value: Float) -> UInt16 {
        let u = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: u >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: (u &+ rounding) >> 16)
    }

    /// f16 bits → f32 (exact).
    @inlinable public static func f16ToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exp = Int((bits >> 10) & 0x1F)
        let mant = UInt32(bits & 0x3FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            // Subnormal: mant * 2^-24.
            let v = Float(mant) * (1.0 / 16_777_216.0)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }

    /// f32 → f16 bits, round to nearest even, overflow to infinity, NaN stays NaN.
    @inlinable public static func floatToF16(_ value: Float) -> UInt16 {
        let u = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (u >> 16) & 0x8000)
        let exp = Int((u >> 23) & 0xFF)
        var mant = u & 0x7F_FFFF
        if exp == 0xFF {
            return mant == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(truncatingIfNeeded: mant >> 13)
        }
        let e = exp - 127 + 15
        if e >= 31 { return sign | 0x7C00 }
        if e <= 0 {
            // Subnormal or zero in f16.
            if e < -10 { return sign }
            mant |= 0x80_0000
            let shift = UInt32(14 - e)
            let half = UInt32(1) << (shift - 1)
            let rem = mant & ((UInt32(1) << shift) - 1)
            var r = mant >> shift
            if rem > half || (rem == half && (r & 1) == 1) { r += 1 }
            return sign | UInt16(truncatingIfNeeded: r)
        }
        var r = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && (r & 1) == 1) { r += 1 } // may carry into exponent: correct
        return sign | UInt16(truncatingIfNeeded: r)
    }
}
