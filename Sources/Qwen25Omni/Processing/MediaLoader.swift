import Foundation
import OmniCore

/// A video as the processor takes it: the frames `qwen-omni-utils`' `fetch_video` samples, resized as it resizes
/// them, with the rate they stand for.
public struct SampledVideo: Sendable, Equatable {
    /// The sampled frames, all `fetch_video`'s size.
    public var frames: [RGBImage]
    /// Their indices in the stream.
    public var indices: [Int]
    /// `sample_fps`: frames taken / frames in the stream · the stream's rate.
    public var sampleFPS: Double
    /// The stream's header facts.
    public var info: VideoInfo

    public init(frames: [RGBImage], indices: [Int], sampleFPS: Double, info: VideoInfo) {
        self.frames = frames
        self.indices = indices
        self.sampleFPS = sampleFPS
        self.info = info
    }

    /// `video_second_per_grid`: temporal patch size / sample_fps.
    public func secondsPerGrid(temporalPatchSize: Int = 2) -> Double { Double(temporalPatchSize) / sampleFPS }
}

/// Reads media files for the processor through the registry's media decoders (`MediaDecoder` plugins): images
/// as RGB, audio as mono at the feature extractor's rate (converted by `Resampler` when the decoder does not
/// resample), video frames sampled by `VideoSampling`, and a video's audio track.
public struct MediaLoader: Sendable {
    /// Where the decoders come from (the first that decodes the kind and recognizes the file reads it).
    public var registry: PluginRegistry
    /// Bounds checked before large allocations.
    public var limits: MediaLimits
    /// The audio rate the feature extractor takes.
    public var sampleRate: Int
    /// The video sampling rules.
    public var sampling: VideoSampling

    public init(registry: PluginRegistry, limits: MediaLimits = MediaLimits(), sampleRate: Int = 16000,
                sampling: VideoSampling = VideoSampling()) {
        self.registry = registry
        self.limits = limits
        self.sampleRate = sampleRate
        self.sampling = sampling
    }

    private func decoder(_ path: String, _ kind: MediaKind) throws -> (URL, any MediaDecoder) {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.isReadableFile(atPath: path) else { throw OmniError.io(path: path, reason: "cannot read: no such readable file") }
        return (url, try registry.mediaDecoder(for: url, as: kind))
    }

    /// The image at `path` as RGB.
    public func image(_ path: String) throws -> RGBImage {
        let (url, d) = try decoder(path, .image)
        return try d.decodeImage(url, limits: limits)
    }

    /// The audio at `path` (or a video's first audio track), mono at `sampleRate`.
    public func audio(_ path: String) throws -> [Float] {
        let (url, d) = try decoder(path, .audio)
        let a = try d.decodeAudio(url, sampleRate: sampleRate, limits: limits)
        if a.sampleRate == sampleRate { return a.samples }
        do {
            return try Resampler(from: a.sampleRate, to: sampleRate)(a.samples)
        } catch {
            throw OmniError.media(file: path, reason: "sample rate \(a.sampleRate) Hz cannot be converted to \(sampleRate) Hz: \(error)")
        }
    }

    /// The frames `fetch_video` takes from the video at `path`, decoded only where sampled and resized to its size
    /// (PIL-style antialiased bicubic, as `VisionProcessor.resize`).
    public func video(_ path: String) throws -> SampledVideo {
        let (url, d) = try decoder(path, .video)
        let info = try d.videoInfo(url, limits: limits)
        let (indices, sampleFPS) = try sampling.sample(total: info.frameCount, videoFPS: info.fps, file: path)
        let (h, w) = try sampling.frameSize(height: info.height, width: info.width, frames: indices.count, file: path)
        // Each frame is shrunk as it arrives, so one full-size frame is held at a time.
        var frames: [RGBImage] = []
        frames.reserveCapacity(indices.count)
        try d.forEachVideoFrame(url, indices: indices, limits: limits) { _, f in frames.append(VisionProcessor.resize(f, width: w, height: h)) }
        guard frames.count == indices.count else {
            throw OmniError.media(file: path, reason: "decoder \(d.name) returned \(frames.count) frames for \(indices.count) indices")
        }
        return SampledVideo(frames: frames, indices: indices, sampleFPS: sampleFPS, info: info)
    }

    /// `samples` cut into consecutive pieces of at most `length` samples (the feature extractor's 30 s window),
    /// so that long audio is fed whole as several items instead of being truncated.
    public static func segments(_ samples: [Float], length: Int) -> [[Float]] {
        precondition(length > 0, "segment length must be positive")
        return stride(from: 0, to: samples.count, by: length).map { Array(samples[$0..<min($0 + length, samples.count)]) }
    }
}
