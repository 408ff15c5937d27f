import BuiltinPlugins
import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// From media files to processor tensors (issue 10): our decoders (the registry's media plugins) with VisionProcessor
/// against transformers' Qwen2VLImageProcessor run on Pillow's decode of the same files
/// (Tests/Fixtures/media/make_processor_reference.py; every committed image is upscaled by smart_resize, they are
/// 31×45 or 45×31, so the bicubic resize is on the path too), and with WhisperFeatureExtractor against transformers'
/// on ffmpeg's f32 decode of compressed files (make_audio_features_reference.py: MP3, FLAC, Opus in Ogg; stereo
/// 44.1 kHz, so the downmix and the resampling are on the path).
final class MediaFileProcessorTests: XCTestCase {
    static let images = Fixtures.root.appendingPathComponent("Tests/Fixtures/media/images")
    static let audio = Fixtures.root.appendingPathComponent("Tests/Fixtures/media/audio")

    func requireFFmpeg(_ registry: PluginRegistry) throws {
        guard registry.mediaDecoders.contains(where: { $0.name == "ffmpeg" }) else {
            throw XCTSkip("built without the FFmpeg media trait: only the WAV/PPM fallback decodes media")
        }
    }

    func testAudioFeaturesFromCompressedFilesMatchTransformersOnFFmpeg() throws {
        let registry = BuiltinPlugins.registry()
        try requireFFmpeg(registry)
        let ref = try loadSafetensors(Self.audio.appendingPathComponent("features.safetensors")).tensors
        let extractor = try WhisperFeatureExtractor(directory: Fixtures.tinyModel)
        for name in ["chirp.flac", "chirp.mp3", "chirp.ogg"] {
            let wave = try MediaLoader(registry: registry).audio(Self.audio.appendingPathComponent(name).path)
            let (features, mask) = try extractor([wave])
            let head = try XCTUnwrap(ref[name + ".input_features_head"]), n = head.shape[2]
            XCTAssertEqual(Int(try mask.int64s().reduce(0, +)), Int(try XCTUnwrap(ref[name + ".valid_frames"]).int64s()[0]), name)
            let bins = features.shape[1], frames = features.shape[2], f = try features.floats()
            let got = (0..<bins).flatMap { b in f[(b * frames)..<(b * frames + n)] }
            let err = Tolerance.maxAbsError(got, try head.floats())
            print("\(name): input_features (first \(n) frames) max abs err \(err)")
            XCTAssertLessThanOrEqual(err, 1e-3, name)   // the fixtures' feature tolerance
        }
    }

    func testProcessorTensorsFromFilesMatchTransformersOnPillow() throws {
        let registry = BuiltinPlugins.registry()
        try requireFFmpeg(registry)
        let ref = try loadSafetensors(Self.images.appendingPathComponent("processor.safetensors")).tensors
        let names = Set(ref.keys.map { String($0.split(separator: ".").dropLast().joined(separator: ".")) })
        XCTAssertEqual(names.count, 15)
        let loader = MediaLoader(registry: registry)
        let processor = try VisionProcessor(directory: Fixtures.tinyModel)
        // One uint8 step after normalization (the largest 1 / (255 · std)).
        let step: Float = 1 / (255 * 0.26130258) + 1e-5
        for name in names.sorted() {
            let image = try loader.image(Self.images.appendingPathComponent(name).path)
            let (pixels, grids) = try processor.images([image])
            let want = try XCTUnwrap(ref[name + ".pixel_values"]), grid = try XCTUnwrap(ref[name + ".image_grid_thw"])
            XCTAssertEqual(grids.flatMap { [Int64($0.t), Int64($0.h), Int64($0.w)] }, try grid.int64s(), name)
            XCTAssertEqual(pixels.shape, want.shape, name)
            guard pixels.shape == want.shape else { continue }
            let got = try pixels.floats(), w = try want.floats()
            let err = Tolerance.maxAbsError(got, w)
            let overOne = zip(got, w).filter { abs($0 - $1) > step }.count
            print("\(name): pixel_values max abs err \(err) (\(err / step) steps), \(overOne) of \(got.count) values more than one step off")
            // Lossless files decode to Pillow's bytes exactly and the resize is PIL's bicubic: float rounding only.
            // JPEG may decode one uint8 step off Pillow (issue 10's acceptance), which the resize can carry through.
            XCTAssertLessThanOrEqual(err, name.hasSuffix(".jpg") ? step : 1e-5, name)
            XCTAssertEqual(overOne, 0, name)
        }
    }
}
