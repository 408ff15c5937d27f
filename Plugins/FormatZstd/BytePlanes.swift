import OmniCore

/// The reversible transform applied before compression: each float element's bits are rotated left by one
/// (so the sign moves to the lowest bit and the exponent becomes the top byte), then byte k of every
/// element, most significant first, goes to plane k. For bf16 plane 0 holds the 8 exponent bits and plane 1
/// the 7 mantissa bits plus the sign; f32 and f16 split the same way into 4 and 2 planes. Other dtypes
/// are one plane of raw bytes.
enum BytePlanes {
    /// Planes for `dtype`: the element size for f32/f16/bf16, else 1.
    static func count(for dtype: DType) -> Int { dtype.isFloatingPoint ? dtype.blockBytes : 1 }

    /// Splits `n` elements at `src` into `planes` planes of `n` bytes each (`dst[k]`: (n)).
    static func split(_ src: UnsafeRawPointer, n: Int, elementBytes: Int, into dst: [UnsafeMutablePointer<UInt8>]) {
        switch elementBytes {
        case 2:
            let s = src.assumingMemoryBound(to: UInt16.self)
            let d0 = dst[0], d1 = dst[1]
            for i in 0..<n {
                let v = UInt16(littleEndian: s[i])
                let u = (v &<< 1) | (v &>> 15)
                d0[i] = UInt8(truncatingIfNeeded: u &>> 8)
                d1[i] = UInt8(truncatingIfNeeded: u)
            }
        case 4:
            let s = src.assumingMemoryBound(to: UInt32.self)
            let d0 = dst[0], d1 = dst[1], d2 = dst[2], d3 = dst[3]
            for i in 0..<n {
                let v = UInt32(littleEndian: s[i])
                let u = (v &<< 1) | (v &>> 31)
                d0[i] = UInt8(truncatingIfNeeded: u &>> 24)
                d1[i] = UInt8(truncatingIfNeeded: u &>> 16)
                d2[i] = UInt8(truncatingIfNeeded: u &>> 8)
                d3[i] = UInt8(truncatingIfNeeded: u)
            }
        default:
            dst[0].update(from: src.assumingMemoryBound(to: UInt8.self), count: n)
        }
    }

    /// Inverse of `split`: `n` elements into `dst` from planes `src[k]`: (n).
    static func merge(_ src: [UnsafePointer<UInt8>], n: Int, elementBytes: Int, into dst: UnsafeMutableRawPointer) {
        switch elementBytes {
        case 2:
            let d = dst.assumingMemoryBound(to: UInt16.self)
            let s0 = src[0], s1 = src[1]
            for i in 0..<n {
                let u = UInt16(s0[i]) &<< 8 | UInt16(s1[i])
                d[i] = ((u &>> 1) | (u &<< 15)).littleEndian
            }
        case 4:
            let d = dst.assumingMemoryBound(to: UInt32.self)
            let s0 = src[0], s1 = src[1], s2 = src[2], s3 = src[3]
            for i in 0..<n {
                let u = UInt32(s0[i]) &<< 24 | UInt32(s1[i]) &<< 16 | UInt32(s2[i]) &<< 8 | UInt32(s3[i])
                d[i] = ((u &>> 1) | (u &<< 31)).littleEndian
            }
        default:
            dst.copyMemory(from: src[0], byteCount: n)
        }
    }
}
