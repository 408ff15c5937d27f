// Compiled only with the FFmpeg trait, so that building every target without it needs no FFmpeg headers.
#if FFmpeg
import CFFmpeg
import Foundation
import OmniCore

/// A video stream opened for sampling: header facts, and frames decoded only near the indices asked for.
///
/// Frame i is the one whose presentation time is nearest start + i / fps (as decord and torchvision index a
/// constant-rate stream). Before each sampled frame the reader seeks to the keyframe at or before it whenever
/// that keyframe lies more than `options.minSeekGap` frames beyond the last decoded frame; otherwise it decodes on. Packets of frames before the next
/// sampled one are sent with `skip_frame = AVDISCARD_NONREF` (the decoder drops them when no other frame refers
/// to them: the B-frames of most streams), every other packet with `AVDISCARD_DEFAULT`.
final class FFmpegVideo {
    let input: FFmpegInput
    let index: Int32
    private let stream: UnsafeMutablePointer<AVStream>
    let info: VideoInfo
    let limits: MediaLimits
    let options: FFmpegVideoOptions

    init(_ url: URL, limits: MediaLimits, options: FFmpegVideoOptions = FFmpegVideoOptions()) throws {
        self.limits = limits
        self.options = options
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

    /// Whether seeking from the frame at `ts` to the keyframe at `key` beats decoding on to it: it does when more
    /// than `options.minSeekGap` frames lie between them (a seek flushes the decoder and loses the frames its
    /// threads have in flight; frames decoded on, past a sampled one, are mostly dropped unreferenced anyway).
    private func worthSeeking(from ts: Int64, to key: Int64) -> Bool {
        frameIndex(key) - frameIndex(ts) > options.minSeekGap
    }

    /// Frames at `indices` (ascending, in 0..<frameCount) as RGB, handed to `body` with their position in
    /// `indices`, in order, on the caller's thread. A frame missing from the stream (a gap) is taken as the next one
    /// decoded; past the end, the last one. With `options.pipelined`, a second thread decodes (and seeks) while
    /// this one converts the sampled frames to RGB and runs `body`, at most `SampledFrames.depth` frames apart.
    func frames(at indices: [Int], _ body: (Int, RGBImage) throws -> Void) throws {
        guard !indices.isEmpty else { return }
        guard zip(indices, indices.dropFirst()).allSatisfy({ $0 <= $1 }), let first = indices.first, let lastIndex = indices.last,
              first >= 0, lastIndex < info.frameCount else {
            throw OmniError.invalidArgument(name: "frame indices", expected: "ascending, in 0..<\(info.frameCount)", actual: "\(indices.prefix(8))…")
        }
        try input.openDecoder(stream: index, threads: options.threads)
        var consumer = SampledFrames.Consumer(path: input.path, limits: limits, conversion: options.rgbConversion)
        defer { consumer.close() }
        guard options.pipelined else {
            var failure: Error?
            produce(indices) { item in
                do { return try consumer.take(item, body) } catch { failure = error; return false }
            }
            if let failure { throw failure }
            return
        }
        let queue = SampledFrames.Queue()
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async { [self] in
            produce(indices) { item in queue.push(item) }
            done.leave()
        }
        do {
            while try consumer.take(queue.pop(), body) {}
        } catch {
            queue.cancel()
            done.wait()
            throw error
        }
        done.wait()
    }

    /// Decodes the frames at `indices` and hands them to `emit` as they come: each sampled frame (a new reference)
    /// with the positions it stands for, `repeatLast` when the stream ends early, then `end` (or `failure`). Stops
    /// when `emit` returns false.
    private func produce(_ indices: [Int], emit: (SampledFrames.Item) -> Bool) {
        do {
            var k = 0, lastDecoded: Int64 = Int64.min, sampledAny = false, stopped = false
            while k < indices.count {
                let target = timestamp(ofFrame: indices[k])
                if let key = keyframe(before: target), key > lastDecoded, lastDecoded == Int64.min || worthSeeking(from: lastDecoded, to: key) {
                    guard av_seek_frame(input.format, index, key, AVSEEK_FLAG_BACKWARD) >= 0 else { throw input.fail("seek failed") }
                    avcodec_flush_buffers(input.codec)
                } else if lastDecoded == Int64.min, keyframe(before: target) == nil, indices[k] > 0 {
                    // No index (some containers): a timestamp seek, then decode forward.
                    if av_seek_frame(input.format, index, target, AVSEEK_FLAG_BACKWARD) >= 0 { avcodec_flush_buffers(input.codec) }
                }
                var progressed = false   // this pass reached a sampled frame (so a stop to seek cannot loop)
                try input.decodeFrames(beforeSending: { pkt in
                    // A frame before the next sampled one is never handed out, so the decoder may drop it unless
                    // other frames refer to it. A packet without a time is decoded.
                    guard options.skipUnsampledFrames, let codec = input.codec else { return }
                    let pts = pkt.pointee.pts
                    let unsampled = pts != Int64.min && k < indices.count && frameIndex(pts) < indices[k]
                    codec.pointee.skip_frame = unsampled ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
                }) { f in
                    let ts = f.pointee.best_effort_timestamp == Int64.min ? f.pointee.pts : f.pointee.best_effort_timestamp
                    lastDecoded = ts
                    let i = frameIndex(ts), from = k
                    while k < indices.count && indices[k] <= i { k += 1 }
                    if k > from {
                        progressed = true
                        sampledAny = true
                        guard let ref = av_frame_clone(f) else { throw input.fail("cannot reference a decoded frame") }
                        guard emit(.frame(ref, positions: from..<k)) else { stopped = true; return false }
                    }
                    guard k < indices.count else { return false }
                    // Stop to seek when a keyframe lies between here and the next sampled frame, far enough ahead.
                    if progressed, let key = keyframe(before: timestamp(ofFrame: indices[k])), key > ts,
                       worthSeeking(from: ts, to: key) { return false }
                    return true
                }
                if stopped { return }
                if !progressed {
                    // The stream ended before the sampled frame: repeat the last frame decoded.
                    guard sampledAny else { throw input.fail("no decodable frame at or after index \(indices[k])") }
                    guard emit(.repeatLast(k..<indices.count)) else { return }
                    k = indices.count
                }
            }
            _ = emit(.end)
        } catch {
            _ = emit(.failure(error))
        }
    }
}

/// How `FFmpegVideo` decodes: decoder threads, whether frames before the next sampled one may be dropped, whether
/// decoding runs on its own thread, and how frames become RGB.
public struct FFmpegVideoOptions: Sendable, Hashable {
    /// Decoder threads (frame and slice threading); nil: one per core this process may use, at most 16.
    public var threads: Int?
    /// Send the packets of frames before the next sampled one with `skip_frame = AVDISCARD_NONREF`, so that the
    /// decoder drops those no other frame refers to. The frames handed out are the same either way.
    public var skipUnsampledFrames: Bool

    /// Decode on a second thread while the caller's thread converts sampled frames to RGB and consumes them.
    public var pipelined: Bool
    /// How YUV frames become RGB: as torchcodec does (the default: qwen-omni-utils' reader, so sampled frames are the
    /// reference pipeline's pixels), or `accurate` (libswscale's bicubic chroma, BT.601).
    public var rgbConversion: FFmpegRGBConversion
    /// Seek to the keyframe before the next sampled frame only when more than this many frames lie between the
    /// last decoded frame and that keyframe; otherwise decode on. 0: seek whenever a keyframe lies between.
    public var minSeekGap: Int

    public init(threads: Int? = nil, skipUnsampledFrames: Bool = true, pipelined: Bool = true,
                rgbConversion: FFmpegRGBConversion = .torchcodec, minSeekGap: Int = FFmpegVideoOptions.defaultMinSeekGap) {
        self.threads = threads
        self.skipUnsampledFrames = skipUnsampledFrames
        self.pipelined = pipelined
        self.rgbConversion = rgbConversion
        self.minSeekGap = minSeekGap
    }

    /// The default `minSeekGap`: 32 frames. Measured on a 10-minute 1080p H.264 file with a keyframe every 2 s
    /// (docs/BENCHMARKS.md): sampling every 23rd frame, decoding on through the keyframes took 0.65 of the time of
    /// seeking to each; sampling every 281st, seeking took 0.38 of the time of decoding on.
    public static let defaultMinSeekGap = 32
}
#endif
