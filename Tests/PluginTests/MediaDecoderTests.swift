import Foundation
import MediaBasic
import OmniCore
import OmniTestSupport
import XCTest
#if FFmpeg
import MediaFFmpeg
#endif

/// The media decoders: the conformance suite on each, then FFmpeg's decodes against Pillow (images, committed
/// references) and against the ffmpeg CLI (audio, made at test time), and hostile files.
final class MediaDecoderTests: XCTestCase {
    static let images = Fixtures.root.appendingPathComponent("Tests/Fixtures/media/images")

    func scratch() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("omni-media-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    func testBasicDecoderConformance() throws {
        let dir = try scratch()
        let wav = dir.appendingPathComponent("a.wav")
        try WAVFile.writeFloat32((0..<8000).map { Float(sin(Double($0) * 0.05)) * 0.5 }, sampleRate: 16000, to: wav.path)
        let ppm = dir.appendingPathComponent("a.ppm")
        try PPMFile.write(RGBImage(width: 5, height: 3, pixels: (0..<45).map { UInt8($0 * 5) }), to: ppm.path)
        try MediaDecoderConformance.check(BasicMediaDecoder(), samples: [.audio: wav, .image: ppm], scratch: dir)
    }

    func testInMemoryDoubleConformance() throws {
        let dir = try scratch()
        var d = InMemoryMediaDecoder()
        let img = dir.appendingPathComponent("m.img"), snd = dir.appendingPathComponent("m.snd"), vid = dir.appendingPathComponent("m.vid")
        for u in [img, snd, vid] { try Data([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).write(to: u) }
        d.images[img.path] = RGBImage(width: 2, height: 2, pixels: Array(repeating: 9, count: 12))
        d.audios[snd.path] = DecodedAudio(samples: Array(repeating: 0.25, count: 1600), sampleRate: 16000, channels: 1)
        d.videos[vid.path] = ((0..<6).map { RGBImage(width: 2, height: 2, pixels: Array(repeating: UInt8($0), count: 12)) }, 2)
        try MediaDecoderConformance.check(d, samples: [.image: img, .audio: snd, .video: vid], scratch: dir)
    }

    func testRegistryOrderAndLookupErrors() throws {
        let r = BuiltinPluginsRegistry.make()
        #if FFmpeg
        XCTAssertEqual(r.mediaDecoders.map(\.name), ["ffmpeg", "wav-ppm"])
        #else
        XCTAssertEqual(r.mediaDecoders.map(\.name), ["wav-ppm"])
        #endif
        let dir = try scratch()
        let txt = dir.appendingPathComponent("notes.txt")
        try Data("plain text".utf8).write(to: txt)
        XCTAssertThrowsError(try r.mediaDecoder(for: txt, as: .image)) { e in
            XCTAssertTrue("\(e)".contains("notes.txt") && "\(e)".contains("wav-ppm"), "\(e)")
        }
    }

    #if FFmpeg
    func testFFmpegConformance() throws {
        let dir = try scratch()
        let wav = dir.appendingPathComponent("a.wav")
        try WAVFile.writeFloat32((0..<22050).map { Float(sin(Double($0) * 0.05)) * 0.5 }, sampleRate: 44100, to: wav.path)
        var samples: [MediaKind: URL] = [.image: Self.images.appendingPathComponent("q90.jpg"), .audio: wav]
        if FFmpegCLI.path != nil {
            let mp4 = dir.appendingPathComponent("v.mp4")
            try FFmpegCLI.run(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "5", mp4.path])
            samples[.video] = mp4
            try MediaDecoderConformance.check(FFmpegMediaDecoder(), samples: samples, scratch: dir)
        } else {
            // Without the CLI there is no video to make; the video capability is then checked by the video tests' skip.
            let d = FFmpegMediaDecoder()
            XCTAssertTrue(d.capabilities.kinds.contains(.video))
            throw XCTSkip("the ffmpeg CLI is not installed (needed to make a test video)")
        }
    }

    /// Every committed image decodes to Pillow's RGB: exactly for lossless formats, within one step for JPEG.
    func testImagesMatchPillow() throws {
        let ref = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.images.appendingPathComponent("reference.json"))) as? [String: [String: Int]]
        let entries = try XCTUnwrap(ref)
        XCTAssertEqual(entries.count, 15)
        for (name, size) in entries.sorted(by: { $0.key < $1.key }) {
            let url = Self.images.appendingPathComponent(name)
            let want = [UInt8](try Data(contentsOf: Self.images.appendingPathComponent(name + ".rgb")))
            let got = try FFmpegMediaDecoder().decodeImage(url, limits: MediaLimits())
            XCTAssertEqual([got.width, got.height], [size["width"], size["height"]], name)
            guard got.pixels.count == want.count else { continue }
            let maxDiff = zip(got.pixels, want).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(maxDiff, name.hasSuffix(".jpg") ? 1 : 0, name)
        }
    }

    /// A PNG named .jpg decodes by its content; absurd dimensions in a header fail before any pixel buffer.
    func testWrongExtensionAndAbsurdDimensions() throws {
        let dir = try scratch()
        let misnamed = dir.appendingPathComponent("really-a-png.jpg")
        try FileManager.default.copyItem(at: Self.images.appendingPathComponent("rgb.png"), to: misnamed)
        XCTAssertEqual(try FFmpegMediaDecoder().decodeImage(misnamed, limits: MediaLimits()).width, 45)
        // A PNG header claiming 60000 × 60000 (a decompression bomb's header) with no data behind it.
        var png = [UInt8](try Data(contentsOf: Self.images.appendingPathComponent("rgb.png")))
        png.replaceSubrange(16..<24, with: [0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60])
        let bomb = dir.appendingPathComponent("bomb.png")
        try Data(png).write(to: bomb)
        assertMediaError(try FFmpegMediaDecoder().decodeImage(bomb, limits: MediaLimits()), bomb.path)
        // The same for JPEG: a SOF claiming 65500 × 65500.
        var jpg = [UInt8](try Data(contentsOf: Self.images.appendingPathComponent("q90.jpg")))
        if let sof = (0..<(jpg.count - 9)).first(where: { jpg[$0] == 0xFF && jpg[$0 + 1] == 0xC0 }) {
            jpg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xFF, 0xDC, 0xFF, 0xDC])
        }
        let jbomb = dir.appendingPathComponent("bomb.jpg")
        try Data(jpg).write(to: jbomb)
        assertMediaError(try FFmpegMediaDecoder().decodeImage(jbomb, limits: MediaLimits()), jbomb.path, contains: "dimensions")
    }

    /// Compressed audio decodes to what `ffmpeg -i F -ar 16000 -f f32le` gives (channels averaged), within 1e-6.
    func testAudioMatchesFFmpegCLI() throws {
        guard FFmpegCLI.path != nil else { throw XCTSkip("the ffmpeg CLI is not installed (it makes the encoded files and the references)") }
        let dir = try scratch()
        let src = dir.appendingPathComponent("src.wav")
        // 2.5 s of stereo at 44.1 kHz: a chirp left, a tone plus noise right.
        try FFmpegCLI.run(["-f", "lavfi", "-i", "aevalsrc=0.4*sin(2*PI*(200+300*t)*t)|0.3*sin(2*PI*440*t)+0.05*(random(0)-0.5):s=44100:d=2.5",
                           "-c:a", "pcm_s16le", src.path])
        let encodings: [(String, [String])] = [
            ("flac", ["-c:a", "flac"]), ("mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]), ("ogg", ["-c:a", "libvorbis"]),
            ("opus", ["-c:a", "libopus", "-ar", "48000"]), ("m4a", ["-c:a", "aac", "-b:a", "128k"]), ("wav", ["-c:a", "pcm_s16le", "-ar", "22050", "-ac", "6"]), ("mono.mp3", ["-c:a", "libmp3lame", "-ac", "1"]),
        ]
        for (ext, args) in encodings {
            let f = dir.appendingPathComponent("a.\(ext)")
            try FFmpegCLI.run(["-i", src.path] + args + [f.path])
            let got = try FFmpegMediaDecoder().decodeAudio(f, sampleRate: 16000, limits: MediaLimits())
            let want = try FFmpegCLI.f32le(f.path, channels: got.channels)
            XCTAssertEqual(got.sampleRate, 16000)
            XCTAssertEqual(got.channels, ext == "wav" ? 6 : ext.hasPrefix("mono") ? 1 : 2, ext)
            XCTAssertEqual(got.samples.count, want.count, ext)
            guard got.samples.count == want.count else { continue }
            XCTAssertLessThanOrEqual(Tolerance.maxAbsError(got.samples, want), 1e-6, ext)
        }
    }

    /// Dropping unreferenced frames before each sampled one (`AVDISCARD_NONREF`), frame threading, decoding on
    /// a second thread and decoding on through keyframes instead of seeking change no sampled pixel: H.264 with B-frames (pyramid: some B-frames are references),
    /// H.265 and VP9, textured frames, dense, sparse and consecutive indices, each against one thread decoding
    /// every frame. An error thrown by the consumer stops the decoding thread and reaches the caller.
    func testSkippingUnsampledFramesAndThreadsKeepThePixels() throws {
        guard FFmpegCLI.path != nil else { throw XCTSkip("the ffmpeg CLI is not installed (it encodes the test videos)") }
        let dir = try scratch()
        let src = ["-f", "lavfi", "-i", "testsrc2=size=192x108:rate=30:duration=5", "-pix_fmt", "yuv420p"]
        let encodings: [(String, [String])] = [
            ("h264.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-b-pyramid", "normal", "-g", "48"]),
            ("hevc.mp4", ["-c:v", "libx265", "-x265-params", "log-level=none:bframes=4:keyint=48"]),
            ("vp9.webm", ["-c:v", "libvpx-vp9", "-g", "48", "-deadline", "realtime", "-cpu-used", "8"]),
        ]
        let indexSets: [[Int]] = [
            (0..<20).map { Int((Double($0) * 149 / 19).rounded()) },   // 20 of 150, as linspace(0, 149, 20)
            Array(stride(from: 1, to: 150, by: 3)), Array(40..<56), [5, 77, 78, 149], [0, 0, 2, 2, 149, 149],
        ]
        let reference = FFmpegMediaDecoder(video: FFmpegVideoOptions(threads: 1, skipUnsampledFrames: false, pipelined: false))
        // minSeekGap 0 seeks at every keyframe between sampled frames; 1,000 never seeks after the first frame.
        let variants = [FFmpegVideoOptions(), FFmpegVideoOptions(threads: 1), FFmpegVideoOptions(threads: 3, skipUnsampledFrames: false),
                        FFmpegVideoOptions(threads: 4, pipelined: false), FFmpegVideoOptions(minSeekGap: 0),
                        FFmpegVideoOptions(minSeekGap: 1000), FFmpegVideoOptions(threads: 1, skipUnsampledFrames: false, minSeekGap: 1000)]
        for (name, args) in encodings {
            let f = dir.appendingPathComponent(name)
            do { try FFmpegCLI.run(src + args + [f.path]) } catch {
                XCTAssertTrue(name != "h264.mp4", "\(error)")   // H.265 / VP9 encoders may be missing from a build
                continue
            }
            for idx in indexSets {
                let want = try reference.decodeVideoFrames(f, indices: idx, limits: MediaLimits())
                XCTAssertEqual(want.count, idx.count)
                for v in variants {
                    let got = try FFmpegMediaDecoder(video: v).decodeVideoFrames(f, indices: idx, limits: MediaLimits())
                    XCTAssertTrue(got == want, "\(name), \(v), indices \(idx.prefix(6))…")
                }
            }
            struct Stop: Error {}
            var seen = 0
            XCTAssertThrowsError(try FFmpegMediaDecoder().forEachVideoFrame(f, indices: Array(0..<150), limits: MediaLimits()) { _, _ in
                seen += 1
                if seen == 3 { throw Stop() }
            }) { XCTAssertTrue($0 is Stop, "\($0)") }
            XCTAssertEqual(seen, 3)
        }
    }

    /// `FFmpegRGBConversion.torchcodec` gives exactly the frames torchcodec 0.17 decodes (committed references, made
    /// by Tests/Fixtures/media/make_torchcodec_frames.py), for an untagged (BT.601) and a BT.709-tagged clip, at
    /// every index and with the decoder options varied, also with the default options (torchcodec's conversion is the
    /// default); the accurate conversion differs from them at most bytes (chroma interpolated, not repeated; BT.601 for
    /// both), so the comparison can tell the two apart.
    func testTorchcodecConversionMatchesTorchcodec() throws {
        let dir = Fixtures.root.appendingPathComponent("Tests/Fixtures/media/video")
        for name in ["bt601", "bt709"] {
            let clip = dir.appendingPathComponent("\(name).mp4")
            let raw = [UInt8](try Data(contentsOf: dir.appendingPathComponent("\(name).torchcodec.rgb")))
            let n = 64 * 48 * 3
            XCTAssertEqual(raw.count, 4 * n)
            let want = (0..<4).map { RGBImage(width: 64, height: 48, pixels: Array(raw[($0 * n)..<(($0 + 1) * n)])) }
            for options in [FFmpegVideoOptions(), FFmpegVideoOptions(rgbConversion: .torchcodec),
                            FFmpegVideoOptions(threads: 1, skipUnsampledFrames: false, pipelined: false, rgbConversion: .torchcodec)] {
                let got = try FFmpegMediaDecoder(video: options).decodeVideoFrames(clip, indices: [0, 1, 2, 3], limits: MediaLimits())
                XCTAssertTrue(got == want, "\(name), \(options)")
                let sparse = try FFmpegMediaDecoder(video: options).decodeVideoFrames(clip, indices: [1, 3], limits: MediaLimits())
                XCTAssertTrue(sparse == [want[1], want[3]], "\(name), \(options), indices [1, 3]")
            }
            let accurate = try FFmpegMediaDecoder(video: FFmpegVideoOptions(rgbConversion: .accurate)).decodeVideoFrames(clip, indices: [0, 1, 2, 3], limits: MediaLimits())
            let differing = zip(accurate.flatMap(\.pixels), raw).filter { $0 != $1 }.count
            XCTAssertGreaterThan(differing, raw.count / 4, "\(name): the accurate conversion differs from torchcodec at \(differing) bytes")
        }
    }
    #endif
}
