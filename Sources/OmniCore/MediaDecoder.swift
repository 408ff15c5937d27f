import Foundation

/// What a media file holds, as the decoders are asked for it.
public enum MediaKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case image, audio, video
    public var description: String { rawValue }
}

/// What a media-decoder plugin can do.
public struct MediaDecoderCapabilities: Sendable, Hashable {
    /// The kinds it decodes.
    public var kinds: Set<MediaKind>
    /// Container or file formats it recognizes (`png`, `mp3`, `mp4`…), for listings.
    public var formats: [String]
    /// `decodeAudio` resamples to the rate asked for (otherwise it returns the file's rate).
    public var resamples: Bool
    /// `decodeVideoFrames` seeks, decoding only near the frames asked for.
    public var seeks: Bool

    public init(kinds: Set<MediaKind>, formats: [String], resamples: Bool, seeks: Bool) {
        self.kinds = kinds
        self.formats = formats
        self.resamples = resamples
        self.seeks = seeks
    }
}

/// Bounds a decoder checks from headers, before it allocates for the content: hostile or corrupt files
/// (absurd dimensions, hours of audio, decompression bombs) fail with `OmniError.media` naming the file.
public struct MediaLimits: Sendable, Hashable {
    /// Largest width or height of an image or video frame.
    public var maxDimension: Int
    /// Largest width × height of one image or frame.
    public var maxPixels: Int
    /// Longest audio, in seconds (also the longest audio track taken from a video).
    public var maxAudioSeconds: Double
    /// Most frames one video may have (as its header or duration × rate says).
    public var maxVideoFrames: Int

    /// 16384 px sides, 128 Mpx (Pillow's decompression-bomb error threshold is 179 Mpx), 3 h of audio, 1M frames.
    public init(maxDimension: Int = 16384, maxPixels: Int = 1 << 27, maxAudioSeconds: Double = 3 * 3600,
                maxVideoFrames: Int = 1 << 20) {
        self.maxDimension = maxDimension
        self.maxPixels = maxPixels
        self.maxAudioSeconds = maxAudioSeconds
        self.maxVideoFrames = maxVideoFrames
    }

    /// Throws `OmniError.media` unless `width`×`height` is within the limits.
    public func check(width: Int, height: Int, file: String) throws {
        guard width > 0, height > 0, width <= maxDimension, height <= maxDimension,
              width.multipliedReportingOverflow(by: height).partialValue <= maxPixels else {
            throw OmniError.media(file: file, reason: "dimensions \(width)×\(height) outside the limits (1…\(maxDimension) per side, at most \(maxPixels) pixels)")
        }
    }
}

/// Decoded audio: mono samples (channels averaged) in [-1, 1].
public struct DecodedAudio: Sendable, Equatable {
    /// Mono samples.
    public var samples: [Float]
    /// Samples per second of `samples` (the rate asked for when the decoder resamples, else the file's).
    public var sampleRate: Int
    /// Channels in the file before the downmix.
    public var channels: Int

    public init(samples: [Float], sampleRate: Int, channels: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
        self.channels = channels
    }
}

/// A video's header facts, read without decoding frames.
public struct VideoInfo: Sendable, Equatable {
    /// Frame size in pixels (before any rotation).
    public var width: Int, height: Int
    /// Frames in the stream (as decord counts them: the header's count, or duration × rate when absent).
    public var frameCount: Int
    /// Average frames per second.
    public var fps: Double
    /// Whether the file has an audio stream.
    public var hasAudio: Bool

    public init(width: Int, height: Int, frameCount: Int, fps: Double, hasAudio: Bool) {
        self.width = width
        self.height = height
        self.frameCount = frameCount
        self.fps = fps
        self.hasAudio = hasAudio
    }
}

/// A media-decoding plugin: images, audio and video frames from files (the FFmpeg plugin; the dependency-free
/// WAV and PPM readers). Every error is `OmniError.media` or `.io` naming the file.
public protocol MediaDecoder: Sendable {
    /// Short name (`ffmpeg`, `wav-ppm`).
    var name: String { get }
    /// What it can do.
    var capabilities: MediaDecoderCapabilities { get }
    /// Cheap check (magic bytes, then extension) whether it can decode `url` as `kind`.
    func canOpen(_ url: URL, as kind: MediaKind) -> Bool
    /// The image (first frame of an animation) as RGB, with EXIF orientation applied and alpha composited on white.
    func decodeImage(_ url: URL, limits: MediaLimits) throws -> RGBImage
    /// The audio (of a video: its first audio track) downmixed to mono; resampled to `sampleRate` when
    /// `capabilities.resamples`, else at the file's rate (the result says which).
    func decodeAudio(_ url: URL, sampleRate: Int, limits: MediaLimits) throws -> DecodedAudio
    /// The video stream's header facts.
    func videoInfo(_ url: URL, limits: MediaLimits) throws -> VideoInfo
    /// Hands the frames at `indices` (ascending, each in 0..<frameCount) to `body` one at a time, as RGB, in
    /// order, with their position in `indices`; the decoder keeps none of them (so a caller that shrinks each
    /// frame holds one full-size frame at a time).
    func forEachVideoFrame(_ url: URL, indices: [Int], limits: MediaLimits, _ body: (Int, RGBImage) throws -> Void) throws
}

extension MediaDecoder {
    public func decodeImage(_ url: URL, limits: MediaLimits) throws -> RGBImage {
        throw OmniError.unsupported(what: "decoding images", reasons: ["the \(name) media decoder reads no images"])
    }
    public func decodeAudio(_ url: URL, sampleRate: Int, limits: MediaLimits) throws -> DecodedAudio {
        throw OmniError.unsupported(what: "decoding audio", reasons: ["the \(name) media decoder reads no audio"])
    }
    public func videoInfo(_ url: URL, limits: MediaLimits) throws -> VideoInfo {
        throw OmniError.unsupported(what: "decoding video", reasons: ["the \(name) media decoder reads no video"])
    }
    public func forEachVideoFrame(_ url: URL, indices: [Int], limits: MediaLimits, _ body: (Int, RGBImage) throws -> Void) throws {
        throw OmniError.unsupported(what: "decoding video", reasons: ["the \(name) media decoder reads no video"])
    }

    /// The frames at `indices`, all held at once (`forEachVideoFrame` collected).
    public func decodeVideoFrames(_ url: URL, indices: [Int], limits: MediaLimits) throws -> [RGBImage] {
        var frames: [RGBImage] = []
        frames.reserveCapacity(indices.count)
        try forEachVideoFrame(url, indices: indices, limits: limits) { _, f in frames.append(f) }
        return frames
    }
}

/// Reads the first `count` bytes of a file (for `canOpen` magic checks); empty when unreadable.
public func mediaFileHead(_ url: URL, count: Int = 16) -> [UInt8] {
    guard let h = try? FileHandle(forReadingFrom: url) else { return [] }
    defer { try? h.close() }
    return [UInt8]((try? h.read(upToCount: count)) ?? Data())
}
