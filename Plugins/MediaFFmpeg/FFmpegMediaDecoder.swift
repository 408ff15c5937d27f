// Compiled only with the FFmpeg trait, so that building every target without it needs no FFmpeg headers.
#if FFmpeg
import CFFmpeg
import CMediaJPEG
import Foundation
import OmniCore

/// Images, audio and video through FFmpeg's libraries (libavformat, libavcodec, libswscale, libswresample) and
/// JPEG through libjpeg, the library Pillow uses, so pixels match Pillow's. Audio is downmixed by averaging the
/// channels and resampled by libswresample with its defaults (what `ffmpeg -i F -ac 1 -ar 16000 -f f32le` gives for
/// mono and stereo). Video frames are decoded only near the indices asked for: a seek to the keyframe before a
/// sampled frame whenever one lies far enough (`FFmpegVideoOptions.minSeekGap`) beyond the last decoded frame.
public struct FFmpegMediaDecoder: MediaDecoder {
    /// How video frames are decoded (threads, dropping unsampled frames).
    public var video: FFmpegVideoOptions

    /// A decoder; FFmpeg's own log is limited to fatal messages (failures reach the caller as `OmniError`s).
    public init(video: FFmpegVideoOptions = FFmpegVideoOptions()) {
        _ = Self.quietOnce
        self.video = video
    }

    private static let quietOnce: Void = av_log_set_level(AV_LOG_FATAL)

    public var name: String { "ffmpeg" }

    public var capabilities: MediaDecoderCapabilities {
        MediaDecoderCapabilities(kinds: [.image, .audio, .video],
                                 formats: ["jpeg", "png", "webp", "bmp", "gif", "wav", "flac", "mp3", "ogg", "opus", "m4a", "aac",
                                           "mp4", "mov", "mkv", "webm", "avi"],
                                 resamples: true, seeks: true)
    }

    /// Any readable file whose head FFmpeg (or libjpeg) would probe: FFmpeg recognizes by content, so this
    /// checks the magic bytes of the common formats and otherwise the extension.
    public func canOpen(_ url: URL, as kind: MediaKind) -> Bool {
        let head = mediaFileHead(url, count: 16)
        guard head.count >= 4 else { return false }
        if MediaMagic.sniff(head) != nil { return true }
        return capabilities.formats.contains(url.pathExtension.lowercased())
    }

    public func decodeImage(_ url: URL, limits: MediaLimits) throws -> RGBImage {
        let head = mediaFileHead(url, count: 4)
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return try JPEGImage.decode(url, limits: limits) }
        let input = try FFmpegInput(url)
        guard let s = input.bestStream(AVMEDIA_TYPE_VIDEO) else { throw input.fail("no image in the file") }
        let par = try input.stream(s).par
        try limits.check(width: Int(par.width), height: Int(par.height), file: input.path)
        try input.openDecoder(stream: s)
        var image: RGBImage?
        var scaler: OpaquePointer?
        defer { sws_freeContext(scaler) }
        try input.decodeFrames { f in
            try limits.check(width: Int(f.pointee.width), height: Int(f.pointee.height), file: input.path)
            image = try FramePixels.rgb(f, path: input.path, scaler: &scaler)
            return false   // the first frame (of an animation too)
        }
        guard let image else { throw input.fail("no decodable image (truncated?)") }
        return image
    }

    public func decodeAudio(_ url: URL, sampleRate: Int, limits: MediaLimits) throws -> DecodedAudio {
        try FFmpegAudio.decode(url, sampleRate: sampleRate, limits: limits)
    }

    public func videoInfo(_ url: URL, limits: MediaLimits) throws -> VideoInfo {
        try FFmpegVideo(url, limits: limits).info
    }

    public func forEachVideoFrame(_ url: URL, indices: [Int], limits: MediaLimits, _ body: (Int, RGBImage) throws -> Void) throws {
        try FFmpegVideo(url, limits: limits, options: video).frames(at: indices, body)
    }
}

/// Magic bytes of the formats the decoders take.
enum MediaMagic {
    static func sniff(_ h: [UInt8]) -> String? {
        func at(_ o: Int, _ s: String) -> Bool { h.count >= o + s.utf8.count && h[o..<(o + s.utf8.count)].elementsEqual(s.utf8) }
        if h.starts(with: [0xFF, 0xD8, 0xFF]) { return "jpeg" }
        if h.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "png" }
        if at(0, "RIFF") && at(8, "WEBP") { return "webp" }
        if at(0, "RIFF") && at(8, "WAVE") { return "wav" }
        if at(0, "RIFF") && at(8, "AVI ") { return "avi" }
        if at(0, "BM") { return "bmp" }
        if at(0, "GIF8") { return "gif" }
        if at(0, "fLaC") { return "flac" }
        if at(0, "OggS") { return "ogg" }
        if at(0, "ID3") || (h.count >= 2 && h[0] == 0xFF && h[1] & 0xE0 == 0xE0) { return "mp3" }
        if at(4, "ftyp") { return "mp4" }
        if h.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "mkv" }
        return nil
    }
}

/// JPEG through libjpeg (C, because libjpeg reports errors by longjmp), EXIF orientation applied.
enum JPEGImage {
    static func decode(_ url: URL, limits: MediaLimits) throws -> RGBImage {
        let data: [UInt8]
        do { data = [UInt8](try Data(contentsOf: url)) } catch {
            throw OmniError.io(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        var info = omni_jpeg_info()
        var err = [CChar](repeating: 0, count: 256)
        guard omni_jpeg_header(data, data.count, &info, &err, err.count) == 0 else {
            throw OmniError.media(file: url.path, reason: "not a decodable JPEG: \(String(cString: err))")
        }
        guard info.cmyk == 0 else { throw OmniError.media(file: url.path, reason: "CMYK/YCCK JPEGs are not supported (convert to RGB first)") }
        let w = Int(info.width), h = Int(info.height)
        try limits.check(width: w, height: h, file: url.path)
        var px = [UInt8](repeating: 0, count: w * h * 3)
        guard omni_jpeg_decode(data, data.count, &px, px.count, 0, &err, err.count) == 0 else {
            throw OmniError.media(file: url.path, reason: "JPEG decoding failed: \(String(cString: err))")
        }
        return Orientation.apply(Int(info.orientation), to: RGBImage(width: w, height: h, pixels: px))
    }
}

/// EXIF orientation (1…8) as `PIL.ImageOps.exif_transpose` applies it.
enum Orientation {
    static func apply(_ o: Int, to img: RGBImage) -> RGBImage {
        guard (2...8).contains(o) else { return img }
        let w = img.width, h = img.height, swap = o >= 5
        let ow = swap ? h : w, oh = swap ? w : h
        var out = [UInt8](repeating: 0, count: img.pixels.count)
        for y in 0..<oh {
            for x in 0..<ow {
                // (sx, sy): the source pixel shown at (x, y).
                let (sx, sy): (Int, Int)
                switch o {
                case 2: (sx, sy) = (w - 1 - x, y)               // mirror horizontal
                case 3: (sx, sy) = (w - 1 - x, h - 1 - y)       // rotate 180
                case 4: (sx, sy) = (x, h - 1 - y)               // mirror vertical
                case 5: (sx, sy) = (y, x)                       // transpose
                case 6: (sx, sy) = (y, h - 1 - x)               // rotate 90 clockwise
                case 7: (sx, sy) = (w - 1 - y, h - 1 - x)       // transverse
                default: (sx, sy) = (w - 1 - y, x)              // 8: rotate 90 counter-clockwise
                }
                for c in 0..<3 { out[(y * ow + x) * 3 + c] = img.pixels[(sy * w + sx) * 3 + c] }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
#endif
