import Foundation
import OmniCore

/// `qwen-omni-utils`' `fetch_video` rules (vision_process.py): how many frames to take from a video and which
/// (`smart_nframes`, then `torch.linspace(0, total - 1, n).round()`), the rate they stand for (`sample_fps`), and
/// the frame size (`smart_resize` with the per-frame and total pixel budgets).
public struct VideoSampling: Sendable, Equatable {
    /// Frames per second to sample (`fps`, default `FPS` = 2).
    public var fps: Double = 2
    /// `min_frames` (default `FPS_MIN_FRAMES` = 4).
    public var minFrames: Int = 4
    /// `max_frames` (default min(`FPS_MAX_FRAMES` = 768, total frames)).
    public var maxFrames: Int? = nil
    /// `min_pixels` per frame (default `VIDEO_MIN_TOKEN_NUM` · 28² = 100352).
    public var minPixels: Int = 128 * 28 * 28
    /// `max_pixels` per frame cap (default `VIDEO_MAX_TOKEN_NUM` · 28² = 602112).
    public var maxPixels: Int = 768 * 28 * 28
    /// `total_pixels` over the video (default `MODEL_SEQ_LEN` · 28² · 0.9 with MODEL_SEQ_LEN = 128000).
    public var totalPixels: Double = 128_000 * 28 * 28 * 0.9

    /// The defaults of qwen-omni-utils.
    public init() {}

    static let frameFactor = 2

    /// `smart_nframes` for a video of `total` frames at `videoFPS`; throws as it does when the count falls
    /// outside [2, total].
    public func frameCount(total: Int, videoFPS: Double, file: String = "video") throws -> Int {
        func ceilBy(_ x: Double, _ f: Int) -> Int { Int((x / Double(f)).rounded(.up)) * f }
        func floorBy(_ x: Double, _ f: Int) -> Int { Int((x / Double(f)).rounded(.down)) * f }
        let minF = ceilBy(Double(minFrames), Self.frameFactor)
        let maxF = floorBy(Double(maxFrames ?? min(768, total)), Self.frameFactor)
        var n = Double(total) / videoFPS * fps
        n = min(min(max(n, Double(minF)), Double(maxF)), Double(total))
        let frames = floorBy(n, Self.frameFactor)
        guard frames >= Self.frameFactor, frames <= total else {
            throw OmniError.media(file: file, reason: "\(frames) frames to sample from \(total) (qwen-omni-utils needs 2 … \(total); the video is too short)")
        }
        return frames
    }

    /// `torch.linspace(0, total - 1, n).round()` in float32 (torch's CPU formula: from the start for the first
    /// half, from the end for the second), rounded half to even.
    public static func indices(total: Int, count n: Int) -> [Int] {
        guard n > 1 else { return n == 1 ? [0] : [] }
        let start: Float = 0, end = Float(total - 1)
        let step = (end - start) / Float(n - 1), half = n / 2
        return (0..<n).map { i in
            let v = i < half ? start + step * Float(i) : end - step * Float(n - i - 1)
            return Int(v.rounded(.toNearestOrEven))
        }
    }

    /// Frame indices and `sample_fps` (n / total · video fps) for a video.
    public func sample(total: Int, videoFPS: Double, file: String = "video") throws -> (indices: [Int], sampleFPS: Double) {
        let n = try frameCount(total: total, videoFPS: videoFPS, file: file)
        return (Self.indices(total: total, count: n), Double(n) / Double(max(total, 1)) * videoFPS)
    }

    /// The frame size `fetch_video` resizes to for `frames` frames of `height` × `width`: qwen-omni-utils'
    /// `smart_resize` (factor 28) within [minPixels, max(min(maxPixels, totalPixels / frames · 2), int(minPixels · 1.05))].
    public func frameSize(height: Int, width: Int, frames: Int, file: String = "video") throws -> (height: Int, width: Int) {
        let cap = max(min(Double(maxPixels), totalPixels / Double(frames) * Double(Self.frameFactor)), Double(Int(Double(minPixels) * 1.05)))
        guard height > 0, width > 0, Double(max(height, width)) / Double(min(height, width)) <= 200 else {
            throw OmniError.media(file: file, reason: "frame size \(width)×\(height) (aspect ratio at most 200 expected)")
        }
        let f = 28.0, h = Double(height), w = Double(width)
        var hb = max(28, Int((h / f).rounded(.toNearestOrEven) * f)), wb = max(28, Int((w / f).rounded(.toNearestOrEven) * f))
        if Double(hb * wb) > cap {
            let beta = (h * w / cap).squareRoot()
            hb = Int((h / beta / f).rounded(.down) * f); wb = Int((w / beta / f).rounded(.down) * f)
        } else if hb * wb < minPixels {
            let beta = (Double(minPixels) / (h * w)).squareRoot()
            hb = Int((h * beta / f).rounded(.up) * f); wb = Int((w * beta / f).rounded(.up) * f)
        }
        guard hb > 0, wb > 0 else { throw OmniError.media(file: file, reason: "frame size \(width)×\(height) resizes to nothing") }
        return (hb, wb)
    }
}
