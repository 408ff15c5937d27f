// Compiled only with the FFmpeg trait, so that building every target without it needs no FFmpeg headers.
#if FFmpeg
import CFFmpeg
import Foundation
import OmniCore

/// A video stream opened for sampling: header facts, and frames decoded only near the indices asked for.
///
/// Frame i is the one whose presentation time is nearest start + i / fps (as decord and torchvision index a
/// constant-rate stream). Before each sampled frame the reader seeks to the keyframe at or before it whenever
/// that keyframe lies beyond the last decoded frame; otherwise it decodes on.
final class FFmpegVideo {
    let input: FFmpegInput
    let index: Int32
    private let stream: UnsafeMutablePointer<AVStream>
    let info: VideoInfo
    let limits: MediaLimits

    init(_ url: URL, limits: MediaLimits) throws {
        self.limits = limits
        input = try FFmpegInput(url)
        guard let s = input.bestStream(AVMEDIA_TYPE_VIDEO) else { throw input.fail("no video stream") }
        index = s
        let (stream, par) = try input.stream(s)
        self.stream = stream
        try limits.check(width: Int(par.width), height: Int(par.height), file: input.path)
        let r = stream.pointee.avg_frame_rate.den > 0 ? stream.pointee.avg_frame_rate : stream.pointee.r_frame_rate
        guard r.num > 0, r.den > 0 else { throw input.fail("no frame rate in the video stream") }
        let fps = Double(r.num) / Double(r.den)
        guard fps.isFinite, fps > 0, fps <= 1000 else { throw input.fail("frame rate \(fps) (0 … 1000 expected)") }
        var count = Int(stream.pointee.nb_frames)
        if count <= 0 {
            // decord's estimate when the header has no count: duration × rate.
            guard let seconds = FFmpegAudio.headerSeconds(input, stream), seconds.isFinite, seconds > 0 else {
                throw input.fail("neither a frame count nor a duration in the header")
            }
            guard seconds * fps <= Double(limits.maxVideoFrames) else {
                throw input.fail("\(Int(seconds)) s at \(fps) fps exceeds the limit of \(limits.maxVideoFrames) frames")
            }
            count = Int((seconds * fps).rounded())
        }
        guard count >= 1, count <= limits.maxVideoFrames else {
            throw input.fail("\(count) frames (1 … \(limits.maxVideoFrames) expected)")
        }
        info = VideoInfo(width: Int(par.width), height: Int(par.height), frameCount: count, fps: fps,
                         hasAudio: input.bestStream(AVMEDIA_TYPE_AUDIO) != nil)
    }

    /// The stream time of frame `i`.
    private func timestamp(ofFrame i: Int) -> Int64 {
        let tb = stream.pointee.time_base, start = stream.pointee.start_time == Int64.min ? 0 : stream.pointee.start_time
        return start + Int64((Double(i) / info.fps * Double(tb.den) / Double(tb.num)).rounded(.down))
    }

    /// The frame index of stream time `ts`.
    private func frameIndex(_ ts: Int64) -> Int {
        let tb = stream.pointee.time_base, start = stream.pointee.start_time == Int64.min ? 0 : stream.pointee.start_time
        return Int((Double(ts - start) * Double(tb.num) / Double(tb.den) * info.fps).rounded())
    }

    /// The time of the keyframe at or before `ts` from the demuxer's index, or nil when it has none.
    private func keyframe(before ts: Int64) -> Int64? {
        let i = av_index_search_timestamp(stream, ts, AVSEEK_FLAG_BACKWARD)
        guard i >= 0, let e = avformat_index_get_entry(stream, i) else { return nil }
        return e.pointee.timestamp
    }

    /// Frames at `indices` (ascending, in 0..<frameCount) as RGB, handed to `body` with their position in
    /// `indices`. A frame missing from the stream (a gap) is taken as the next one decoded; past the end, the last one.
    func frames(at indices: [Int], _ body: (Int, RGBImage) throws -> Void) throws {
        guard !indices.isEmpty else { return }
        guard zip(indices, indices.dropFirst()).allSatisfy({ $0 <= $1 }), let first = indices.first, let lastIndex = indices.last,
              first >= 0, lastIndex < info.frameCount else {
            throw OmniError.invalidArgument(name: "frame indices", expected: "ascending, in 0..<\(info.frameCount)", actual: "\(indices.prefix(8))…")
        }
        try input.openDecoder(stream: index)
        var scaler: OpaquePointer?
        defer { sws_freeContext(scaler) }
        var k = 0, lastDecoded: Int64 = Int64.min, last: RGBImage?
        while k < indices.count {
            let target = timestamp(ofFrame: indices[k])
            if let key = keyframe(before: target), key > lastDecoded {
                guard av_seek_frame(input.format, index, key, AVSEEK_FLAG_BACKWARD) >= 0 else { throw input.fail("seek failed") }
                avcodec_flush_buffers(input.codec)
            } else if lastDecoded == Int64.min, keyframe(before: target) == nil, indices[k] > 0 {
                // No index (some containers): a timestamp seek, then decode forward.
                if av_seek_frame(input.format, index, target, AVSEEK_FLAG_BACKWARD) >= 0 { avcodec_flush_buffers(input.codec) }
            }
            var progressed = false   // this pass reached a sampled frame (so a stop to seek cannot loop)
            try input.decodeFrames { f in
                let ts = f.pointee.best_effort_timestamp == Int64.min ? f.pointee.pts : f.pointee.best_effort_timestamp
                lastDecoded = ts
                let i = frameIndex(ts)
                var image: RGBImage?
                while k < indices.count && indices[k] <= i {
                    if image == nil {
                        try limits.check(width: Int(f.pointee.width), height: Int(f.pointee.height), file: input.path)
                        image = try FramePixels.rgb(f, path: input.path, scaler: &scaler)
                    }
                    if let image { try body(k, image) }
                    k += 1
                    progressed = true
                }
                if let image { last = image }
                guard k < indices.count else { return false }
                // Stop to seek when a keyframe lies between here and the next sampled frame.
                if progressed, let key = keyframe(before: timestamp(ofFrame: indices[k])), key > ts { return false }
                return true
            }
            if !progressed {
                // The stream ended before the sampled frame: repeat the last frame decoded.
                guard let last else { throw input.fail("no decodable frame at or after index \(indices[k])") }
                while k < indices.count { try body(k, last); k += 1 }
            }
        }
    }
}
#endif
