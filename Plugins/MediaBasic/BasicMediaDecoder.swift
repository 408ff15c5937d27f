import Foundation
import OmniCore

/// The dependency-free media decoder: RIFF/WAVE audio (`WAVFile`) and binary Netpbm images (`PPMFile`), read
/// without any library. It does not resample (the caller converts the rate) and reads no video. The fallback
/// when swift-omni is built without the FFmpeg trait; with it, FFmpeg's decoder comes first in the registry.
public struct BasicMediaDecoder: MediaDecoder {
    public init() {}

    public var name: String { "wav-ppm" }

    public var capabilities: MediaDecoderCapabilities {
        MediaDecoderCapabilities(kinds: [.image, .audio], formats: ["wav", "ppm", "pgm"], resamples: false, seeks: false)
    }

    /// `RIFF…WAVE` for audio; `P6` or `P5` for images.
    public func canOpen(_ url: URL, as kind: MediaKind) -> Bool {
        let h = mediaFileHead(url, count: 12)
        switch kind {
        case .audio: return h.count == 12 && h[0..<4].elementsEqual("RIFF".utf8) && h[8..<12].elementsEqual("WAVE".utf8)
        case .image: return h.count >= 2 && h[0] == UInt8(ascii: "P") && (h[1] == UInt8(ascii: "6") || h[1] == UInt8(ascii: "5"))
        case .video: return false
        }
    }

    public func decodeImage(_ url: URL, limits: MediaLimits) throws -> RGBImage {
        let image = try PPMFile.read(path: url.path)
        try limits.check(width: image.width, height: image.height, file: url.path)
        return image
    }

    public func decodeAudio(_ url: URL, sampleRate: Int, limits: MediaLimits) throws -> DecodedAudio {
        let wav = try WAVFile(path: url.path)
        guard Double(wav.samples.count) <= limits.maxAudioSeconds * Double(wav.sampleRate) else {
            throw OmniError.media(file: url.path, reason: "audio of \(wav.samples.count / wav.sampleRate) s, longer than the limit of \(Int(limits.maxAudioSeconds)) s")
        }
        return DecodedAudio(samples: wav.samples, sampleRate: wav.sampleRate, channels: wav.channels)
    }
}
