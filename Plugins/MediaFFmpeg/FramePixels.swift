// Compiled only with the FFmpeg trait, so that building every target without it needs no FFmpeg headers.
#if FFmpeg
import CFFmpeg
import OmniCore

/// A decoded frame as RGB bytes, as Pillow's `Image.open(…)` followed by qwen-omni-utils' `to_rgb` gives them:
/// packed RGB, grey and palette formats are copied exactly (16-bit samples keep their high byte, as Pillow's
/// `RGB;16B` unpacker does); colour with alpha (RGBA) is composited on white with Pillow's `paste(mask=alpha)`
/// rounding; grey+alpha and palette transparency are dropped (`convert("RGB")`). Other formats (YUV video,
/// lossy WebP) go through libswscale with accurate rounding and full chroma interpolation, or, for video frames with
/// `FFmpegRGBConversion.torchcodec`, as torchcodec converts them.
enum FramePixels {
    static func rgb(_ f: UnsafeMutablePointer<AVFrame>, path: String, scaler: inout OpaquePointer?,
                    conversion: FFmpegRGBConversion = .accurate) throws -> RGBImage {
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let fmt = AVPixelFormat(rawValue: f.pointee.format)
        let copied: [AVPixelFormat] = [AV_PIX_FMT_RGB24, AV_PIX_FMT_BGR24, AV_PIX_FMT_RGB48BE, AV_PIX_FMT_RGBA, AV_PIX_FMT_BGRA,
                                       AV_PIX_FMT_RGBA64BE, AV_PIX_FMT_GRAY8, AV_PIX_FMT_YA8, AV_PIX_FMT_GRAY16BE, AV_PIX_FMT_YA16BE,
                                       AV_PIX_FMT_PAL8, AV_PIX_FMT_GBRP]
        guard let p0 = f.pointee.data.0 else { throw OmniError.media(file: path, reason: "decoder returned no pixels") }
        guard copied.contains(fmt) else { return try scaled(f, path: path, scaler: &scaler, conversion: conversion) }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let stride0 = Int(f.pointee.linesize.0)
        /// Pillow's DIV255 blend of `c` over white with alpha `a`.
        @inline(__always) func overWhite(_ c: UInt8, _ a: UInt8) -> UInt8 {
            let t = Int(c) * Int(a) + 255 * (255 - Int(a)) + 128
            return UInt8(((t >> 8) + t) >> 8)
        }
        out.withUnsafeMutableBufferPointer { o in
            switch fmt {
            case AV_PIX_FMT_RGB24, AV_PIX_FMT_BGR24:
                let bgr = fmt == AV_PIX_FMT_BGR24
                for y in 0..<h { for x in 0..<w { for c in 0..<3 { o[(y * w + x) * 3 + c] = p0[y * stride0 + x * 3 + (bgr ? 2 - c : c)] } } }
            case AV_PIX_FMT_RGB48BE:
                for y in 0..<h { for x in 0..<w { for c in 0..<3 { o[(y * w + x) * 3 + c] = p0[y * stride0 + x * 6 + c * 2] } } }
            case AV_PIX_FMT_RGBA, AV_PIX_FMT_BGRA, AV_PIX_FMT_RGBA64BE:
                let bgr = fmt == AV_PIX_FMT_BGRA, step = fmt == AV_PIX_FMT_RGBA64BE ? 2 : 1
                for y in 0..<h {
                    for x in 0..<w {
                        let px = y * stride0 + x * 4 * step, a = p0[px + 3 * step]
                        for c in 0..<3 { o[(y * w + x) * 3 + c] = overWhite(p0[px + (bgr ? 2 - c : c) * step], a) }
                    }
                }
            case AV_PIX_FMT_GRAY8, AV_PIX_FMT_YA8, AV_PIX_FMT_GRAY16BE, AV_PIX_FMT_YA16BE:
                let step = fmt == AV_PIX_FMT_GRAY8 ? 1 : fmt == AV_PIX_FMT_YA16BE ? 4 : 2
                for y in 0..<h { for x in 0..<w { let v = p0[y * stride0 + x * step]; for c in 0..<3 { o[(y * w + x) * 3 + c] = v } } }
            case AV_PIX_FMT_PAL8:
                guard let pal = f.pointee.data.1 else { break }   // 256 × 32-bit native-endian ARGB
                for y in 0..<h {
                    for x in 0..<w {
                        let e = Int(p0[y * stride0 + x]) * 4
                        // little-endian ARGB words: bytes B, G, R, A
                        o[(y * w + x) * 3] = pal[e + 2]; o[(y * w + x) * 3 + 1] = pal[e + 1]; o[(y * w + x) * 3 + 2] = pal[e]
                    }
                }
            case AV_PIX_FMT_GBRP:
                guard let b = f.pointee.data.1, let r = f.pointee.data.2 else { break }
                let g = p0
                let sg = Int(f.pointee.linesize.0), sb = Int(f.pointee.linesize.1), sr = Int(f.pointee.linesize.2)
                for y in 0..<h { for x in 0..<w { o[(y * w + x) * 3] = r[y * sr + x]; o[(y * w + x) * 3 + 1] = g[y * sg + x]; o[(y * w + x) * 3 + 2] = b[y * sb + x] } }
            default:
                break
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// libswscale to RGB24 (or RGBA, then composited on white, when the format has alpha).
    private static func scaled(_ f: UnsafeMutablePointer<AVFrame>, path: String, scaler: inout OpaquePointer?,
                               conversion: FFmpegRGBConversion) throws -> RGBImage {
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let src = AVPixelFormat(rawValue: f.pointee.format)
        guard let desc = av_pix_fmt_desc_get(src) else { throw OmniError.media(file: path, reason: "unknown pixel format \(f.pointee.format)") }
        let alpha = desc.pointee.flags & UInt64(AV_PIX_FMT_FLAG_ALPHA) != 0
        let dst = alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24, bpp = alpha ? 4 : 3
        let flags = conversion == .torchcodec ? SWS_BILINEAR : SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP
        scaler = sws_getCachedContext(scaler, Int32(w), Int32(h), src, Int32(w), Int32(h), dst, flags, nil, nil, nil)
        guard let sws = scaler else {
            throw OmniError.media(file: path, reason: "no conversion from pixel format \(String(cString: desc.pointee.name)) to RGB")
        }
        if conversion == .torchcodec {
            // torchcodec's createSwsContext: the frame's colour matrix for both tables, ranges as libswscale chose.
            var inv: UnsafeMutablePointer<Int32>?, table: UnsafeMutablePointer<Int32>?
            var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
            guard sws_getColorspaceDetails(sws, &inv, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation) >= 0,
                  let coefficients = sws_getCoefficients(Int32(f.pointee.colorspace.rawValue)),
                  sws_setColorspaceDetails(sws, coefficients, srcRange, coefficients, dstRange, brightness, contrast, saturation) >= 0 else {
                throw OmniError.media(file: path, reason: "libswscale refused the frame's colour matrix \(f.pointee.colorspace.rawValue)")
            }
        }
        // libswscale writes every byte of the h rows of w · bpp bytes: no zero-filling first.
        var packed = [UInt8](unsafeUninitializedCapacity: w * h * bpp) { _, n in n = w * h * bpp }
        try packed.withUnsafeMutableBufferPointer { buf in
            var planes: [UnsafeMutablePointer<UInt8>?] = [buf.baseAddress, nil, nil, nil]
            var strides: [Int32] = [Int32(w * bpp), 0, 0, 0]
            let srcPlanes: [UnsafePointer<UInt8>?] = [f.pointee.data.0, f.pointee.data.1, f.pointee.data.2, f.pointee.data.3].map { $0.map { UnsafePointer($0) } }
            let srcStrides: [Int32] = [f.pointee.linesize.0, f.pointee.linesize.1, f.pointee.linesize.2, f.pointee.linesize.3]
            let rows = sws_scale(sws, srcPlanes, srcStrides, 0, Int32(h), &planes, &strides)
            guard rows == Int32(h) else { throw OmniError.media(file: path, reason: "pixel conversion failed") }
        }
        guard alpha else { return RGBImage(width: w, height: h, pixels: packed) }
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            let a = Int(packed[i * 4 + 3])
            for c in 0..<3 {
                let t = Int(packed[i * 4 + c]) * a + 255 * (255 - a) + 128
                rgb[i * 3 + c] = UInt8(((t >> 8) + t) >> 8)
            }
        }
        return RGBImage(width: w, height: h, pixels: rgb)
    }
}

/// How `FFmpegVideo` turns decoded YUV frames into RGB (`FFmpegVideoOptions` defaults to `torchcodec`; images always
/// use `accurate`).
public enum FFmpegRGBConversion: String, Sendable, Hashable, CaseIterable {
    /// libswscale with `SWS_ACCURATE_RND`, full chroma interpolation (bicubic chroma upsampling) and its default
    /// BT.601 matrix: about 20–30 ms of one core per 1080p frame.
    case accurate
    /// As torchcodec (qwen-omni-utils' reader when installed) converts on the CPU (CpuDeviceInterface's swscale
    /// path, taken for widths divisible by 32): `SWS_BILINEAR`, which at equal size is libswscale's unscaled
    /// YUV → RGB routine (chroma repeated, not interpolated), with the matrix the frame's colour space names (BT.709
    /// for most HD video): about 1 ms per 1080p frame. For other widths torchcodec converts through a filter graph
    /// that also reads the frame's range; the bytes can differ there for frames whose range tag disagrees with
    /// their pixel format.
    case torchcodec
}
#endif
