import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench media FILE`: how long sampling a video takes (qwen-omni-utils' rules, decode only where sampled,
/// each frame shrunk as it arrives) and the process's peak memory, next to what the sampled frames need.
struct BenchMediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Time sampling the frames of a video (and decoding its audio track); print peak memory.")

    @Argument(help: "A video file.") var file: String
    @Option(name: .customLong("video-fps"), help: "Frames sampled per second (default 2).") var videoFPS: Double = 2
    @Option(name: .customLong("video-max-frames"), help: "Most frames sampled (default min(768, frames)).") var videoMaxFrames: Int?
    @Flag(help: "Also decode the audio track to 16 kHz.") var audio = false
    @Option(name: .customLong("decoder-threads"), help: "Video decoder threads (default: one per core, at most 16).") var decoderThreads: Int?
    @Flag(name: .customLong("no-skip-unsampled"), help: "Decode every frame before a sampled one (no AVDISCARD_NONREF).") var noSkip = false
    @Flag(name: .customLong("no-pipeline"), help: "Decode and convert sampled frames on one thread, in turn.") var noPipeline = false
    @Flag(name: .customLong("accurate-colors"), help: "Convert YUV frames to RGB with libswscale's accurate bicubic path (BT.601) instead of as torchcodec does (the default: its fast path, the frame's matrix).")
    var accurateColors = false
    @Option(name: .customLong("min-seek-gap"), help: "Seek only past more than this many frames; decode on otherwise (0: seek at every keyframe).")
    var minSeekGap: Int?

    func run() throws {
        var sampling = VideoSampling()
        sampling.fps = videoFPS
        sampling.maxFrames = videoMaxFrames
        if let t = decoderThreads, t < 1 { throw ValidationError("--decoder-threads must be at least 1, got \(t)") }
        if let g = minSeekGap, g < 0 { throw ValidationError("--min-seek-gap must be at least 0, got \(g)") }
        let registry = BuiltinPlugins.registry(videoDecoderThreads: decoderThreads, skipUnsampledFrames: !noSkip,
                                                pipelined: !noPipeline, accurateColors: accurateColors, minSeekGap: minSeekGap)
        let loader = MediaLoader(registry: registry, sampling: sampling)
        let t0 = BenchTiming.now()
        let v = try loader.video(file)
        let t1 = BenchTiming.now()
        let f = v.frames[0], bytes = v.frames.count * f.pixels.count
        print("video: \(v.info.width)×\(v.info.height), \(v.info.frameCount) frames at \(String(format: "%.3f", v.info.fps)) fps")
        print("sampled \(v.frames.count) frames (indices \(v.indices.prefix(3).map(String.init).joined(separator: ", ")) … \(v.indices.last ?? 0)), "
              + "resized to \(f.width)×\(f.height): \(String(format: "%.2f", t1 - t0)) s, frames hold \(ByteCount(bytes))")
        if audio {
            let a = try loader.audio(file)
            print("audio track: \(a.count) samples at 16 kHz in \(String(format: "%.2f", BenchTiming.now() - t1)) s")
        }
        if let peak = ProcessMemory.peakResidentBytes { print("process: peak RSS \(ByteCount(peak))") }
    }
}
