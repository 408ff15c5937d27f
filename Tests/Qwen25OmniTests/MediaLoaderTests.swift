import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// Media files to processor inputs: qwen-omni-utils' frame sampling (against torch's numbers), the loader over
/// the in-memory decoder, chat JSON, and with FFmpeg real files against the fixtures.
final class MediaLoaderTests: XCTestCase {
    static let media = Fixtures.root.appendingPathComponent("Tests/Fixtures/media")

    func scratch() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("omni-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    /// smart_nframes, the linspace indices, sample_fps and fetch_video's frame size equal what qwen-omni-utils'
    /// functions and torch computed (Tests/Fixtures/media/make_sampling_reference.py).
    func testSamplingMatchesQwenOmniUtils() throws {
        let data = try Data(contentsOf: Self.media.appendingPathComponent("sampling.json"))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 540)
        var errors = 0
        for c in cases {
            var s = VideoSampling()
            s.fps = try XCTUnwrap(c["fps"] as? Double)
            s.maxFrames = c["max_frames"] as? Int
            let total = try XCTUnwrap(c["total"] as? Int), videoFPS = try XCTUnwrap(c["video_fps"] as? Double)
            if c["error"] != nil {
                XCTAssertThrowsError(try s.sample(total: total, videoFPS: videoFPS), "\(c)")
                errors += 1
                continue
            }
            let (idx, fps) = try s.sample(total: total, videoFPS: videoFPS)
            XCTAssertEqual(idx, try XCTUnwrap(c["indices"] as? [Int]), "total \(total) at \(videoFPS), fps \(s.fps), max \(String(describing: s.maxFrames))")
            XCTAssertEqual(fps, try XCTUnwrap(c["sample_fps"] as? Double), accuracy: 1e-12)
        }
        XCTAssertEqual(errors, 0)
        // One frame is fewer than FRAME_FACTOR: smart_nframes raises, and so does this.
        XCTAssertThrowsError(try VideoSampling().sample(total: 1, videoFPS: 30, file: "one.mp4")) { XCTAssertTrue("\($0)".contains("one.mp4"), "\($0)") }
        for z in try XCTUnwrap(root["sizes"] as? [[String: Int]]) {
            let got = try VideoSampling().frameSize(height: z["height"]!, width: z["width"]!, frames: z["nframes"]!)
            XCTAssertEqual([got.height, got.width], [z["resized_height"]!, z["resized_width"]!], "\(z)")
        }
    }

    /// Over the in-memory decoder: audio at another rate goes through Resampler when the decoder does not
    /// resample; a video's sampled frames are resized to fetch_video's size; limits reach the decoder.
    func testLoaderOverTheInMemoryDecoder() throws {
        let dir = try scratch()
        var d = InMemoryMediaDecoder()
        let a = dir.appendingPathComponent("a.snd").path, v = dir.appendingPathComponent("v.vid").path
        d.audios[a] = DecodedAudio(samples: (0..<8000).map { Float(sin(Double($0) * 0.1)) }, sampleRate: 8000, channels: 1)
        d.videos[v] = ((0..<30).map { RGBImage(width: 20, height: 10, pixels: Array(repeating: UInt8($0), count: 600)) }, 10)
        for p in [a, v] { try Data([0]).write(to: URL(fileURLWithPath: p)) }
        var r = PluginRegistry()
        r.register(d)
        let loader = MediaLoader(registry: r)
        XCTAssertEqual(try loader.audio(a).count, 16000)
        let video = try loader.video(v)
        // 30 frames at 10 fps, 2 fps: 6 frames, linspace(0, 29, 6).round() = 0 6 12 17 23 29.
        XCTAssertEqual(video.indices, [0, 6, 12, 17, 23, 29])
        XCTAssertEqual(video.frames.map { $0.pixels[0] }, [0, 6, 12, 17, 23, 29])
        XCTAssertEqual(video.sampleFPS, 2, accuracy: 1e-12)
        XCTAssertEqual(video.secondsPerGrid(), 1, accuracy: 1e-12)
        XCTAssertTrue(video.frames.allSatisfy { $0.width % 28 == 0 && $0.height % 28 == 0 && $0.width * $0.height >= 128 * 784 })
        var tight = loader
        tight.limits.maxAudioSeconds = 0.5
        assertMediaError(try tight.audio(a), a)
    }

    func testChatConversationKeepsMediaWhereTheUserPutThem() throws {
        let json = """
        [{"role": "system", "content": "Be brief."},
         {"role": "user", "content": [{"type": "text", "text": "Compare "}, {"type": "image", "image": "file:///tmp/a.jpg"},
          {"type": "text", "text": " with "}, {"image": "/tmp/b.png"}, {"type": "audio", "audio": "v.mp3"}, {"type": "video", "video": "c.mp4"}]}]
        """
        let c = try ChatConversation(json: Data(json.utf8))
        XCTAssertEqual(c.messages, [ChatMessage(role: "system", text: "Be brief."),
                                    ChatMessage(role: "user", content: [.text("Compare "), .image, .text(" with "), .image, .audio, .video])])
        XCTAssertEqual(c.media, [.init(kind: .image, path: "/tmp/a.jpg"), .init(kind: .image, path: "/tmp/b.png"),
                                 .init(kind: .audio, path: "v.mp3"), .init(kind: .video, path: "c.mp4")])
        for bad in ["42", "[]", "[{\"content\": \"x\"}]", "{\"role\": \"user\", \"content\": [{\"type\": \"image\"}]}",
                    "{\"role\": \"user\", \"content\": [{\"type\": \"image\", \"image\": \"https://x/y.jpg\"}]}",
                    "{\"role\": \"user\", \"content\": [{\"type\": \"smell\", \"smell\": \"x\"}]}"] {
            XCTAssertThrowsError(try ChatConversation(json: Data(bad.utf8))) { XCTAssertTrue("\($0)".contains("--message"), "\($0)") }
        }
    }

    #if FFmpeg
    func rgbFrames(_ t: Tensor) throws -> [RGBImage] {
        let (n, h, w) = (t.shape[0], t.shape[1], t.shape[2])
        let bytes = try t.int64s().map { UInt8($0) }
        return (0..<n).map { RGBImage(width: w, height: h, pixels: Array(bytes[($0 * h * w * 3)..<(($0 + 1) * h * w * 3)])) }
    }

    /// The fixture's video stored losslessly (FFV1 in MKV with its waveform as float PCM; libx264rgb at qp 0 in
    /// MP4) decodes to exactly the stored frames and samples; through the loader and processor it gives the
    /// processor tensors of the frames given directly, the reference within the video test's tolerance, and
    /// the reference audio features.
    func testLosslessVideoAndItsAudioTrackMatchTheFixture() throws {
        guard FFmpegCLI.path != nil else { throw XCTSkip("the ffmpeg CLI is not installed (it encodes the fixture frames)") }
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("video_audio.safetensors")).tensors
        let frames = try rgbFrames(try XCTUnwrap(ref["video_rgb"]))
        let wave = try XCTUnwrap(ref["waveform"]).floats()
        let dir = try scratch()
        let raw = dir.appendingPathComponent("frames.rgb"), pcm = dir.appendingPathComponent("wave.f32")
        try Data(frames.flatMap(\.pixels)).write(to: raw)
        try wave.withUnsafeBufferPointer { try Data(buffer: $0).write(to: pcm) }
        let size = "\(frames[0].width)x\(frames[0].height)"
        let mkv = dir.appendingPathComponent("clip.mkv"), mp4 = dir.appendingPathComponent("clip.mp4")
        let inputs = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", size, "-r", "2", "-i", raw.path,
                      "-f", "f32le", "-ar", "16000", "-ac", "1", "-i", pcm.path]
        try FFmpegCLI.run(inputs + ["-c:v", "ffv1", "-c:a", "pcm_f32le", mkv.path])
        try FFmpegCLI.run(inputs + ["-c:v", "libx264rgb", "-qp", "0", "-c:a", "flac", "-strict", "-2", mp4.path])
        let registry = BuiltinPlugins.registry()
        let processor = try OmniProcessor(directory: Fixtures.tinyModel, config: try OmniConfig.load(directory: Fixtures.tinyModel).thinker)
        let messages = [ChatMessage(role: "system", text: ChatTemplate.speechSystemPrompt), ChatMessage(role: "user", content: [.video])]
        let direct = try processor(messages, waveforms: [wave], videos: [frames], useAudioInVideo: true)
        for file in [mkv, mp4] {
            let decoder = try registry.mediaDecoder(for: file, as: .video)
            XCTAssertEqual(decoder.name, "ffmpeg")
            XCTAssertEqual(try decoder.decodeVideoFrames(file, indices: [0, 1, 2, 3], limits: MediaLimits()), frames, file.lastPathComponent)
            let loader = MediaLoader(registry: registry)
            let video = try loader.video(file.path)
            XCTAssertEqual(video.indices, [0, 1, 2, 3])
            let audio = try loader.audio(file.path)
            if file == mkv { XCTAssertEqual(audio, wave) } else { XCTAssertLessThanOrEqual(Tolerance.maxAbsError(audio, wave), 1.0 / 32768) }
            let input = try processor(messages, waveforms: [audio], videos: [video.frames], videoFPS: [video.sampleFPS], useAudioInVideo: true)
            XCTAssertEqual(input.ids, direct.ids)
            XCTAssertEqual(input.ids, try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) })
            XCTAssertEqual(input.secondsPerGrid, [1.0])
            XCTAssertEqual(try XCTUnwrap(input.pixelValuesVideos).floats(), try XCTUnwrap(direct.pixelValuesVideos).floats(), file.lastPathComponent)
            let got = try XCTUnwrap(input.pixelValuesVideos).floats(), want = try XCTUnwrap(ref["pixel_values_videos"]).floats()
            XCTAssertLessThanOrEqual(Tolerance.maxAbsError(got, want), 2 * (1 / (255 * 0.2613) + 1e-5))
            XCTAssertLessThanOrEqual(Tolerance.maxAbsError(try XCTUnwrap(input.audioFeatures).floats(), try XCTUnwrap(ref["input_features"]).floats()), 1e-3)
        }
    }

    /// H.264 with B-frames and a short GOP, each frame a flat colour that encodes its index: the frames the loader
    /// returns are the ones qwen-omni-utils' indices name, at several rates and caps, whether it seeks or decodes on.
    func testH264FramesAreTheSampledOnes() throws {
        guard FFmpegCLI.path != nil else { throw XCTSkip("the ffmpeg CLI is not installed (it encodes the test video)") }
        let dir = try scratch()
        let n = 150, w = 64, h = 48
        var raw = [UInt8]()
        // Frame i: red (i % 16) · 16 + 8, green (i / 16) · 16 + 8 — bins of 16 survive the YUV round trip.
        for i in 0..<n { for _ in 0..<(w * h) { raw += [UInt8(i % 16 * 16 + 8), UInt8(i / 16 * 16 + 8), 128] } }
        let rawURL = dir.appendingPathComponent("f.rgb"), mp4 = dir.appendingPathComponent("v.mp4")
        try Data(raw).write(to: rawURL)
        try FFmpegCLI.run(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(w)x\(h)", "-r", "30", "-i", rawURL.path,
                           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "12", "-bf", "2", "-crf", "10", mp4.path])
        let d = try BuiltinPlugins.registry().mediaDecoder(for: mp4, as: .video)
        let info = try d.videoInfo(mp4, limits: MediaLimits())
        XCTAssertEqual(info.frameCount, n)
        XCTAssertEqual(info.fps, 30, accuracy: 1e-9)
        for (fps, maxFrames) in [(2.0, nil), (0.5, nil), (8.0, 16), (30.0, nil)] as [(Double, Int?)] {
            var s = VideoSampling()
            s.fps = fps
            s.maxFrames = maxFrames
            let (idx, _) = try s.sample(total: n, videoFPS: info.fps)
            let frames = try d.decodeVideoFrames(mp4, indices: idx, limits: MediaLimits())
            let seen = frames.map { f in Int(f.pixels[(h / 2 * w + w / 2) * 3]) / 16 + 16 * (Int(f.pixels[(h / 2 * w + w / 2) * 3 + 1]) / 16) }
            XCTAssertEqual(seen, idx, "fps \(fps)")
        }
    }
    #endif
}
