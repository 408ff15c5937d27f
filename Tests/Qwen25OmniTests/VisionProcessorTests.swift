import CKernels
import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The image and video processors against transformers' `pixel_values` (exact without a resize; within one uint8
/// step through a resize), and smart_resize against the spec's probes.
final class VisionProcessorTests: XCTestCase {
    func rgb(_ t: Tensor, frame: Int? = nil) throws -> RGBImage {
        let s = t.shape, v = try t.int64s().map { UInt8($0) }
        if let f = frame {
            let n = s[1] * s[2] * 3
            return RGBImage(width: s[2], height: s[1], pixels: Array(v[(f * n)..<((f + 1) * n)]))
        }
        return RGBImage(width: s[1], height: s[0], pixels: v)
    }

    func testImagesMatchReferenceExactly() throws {
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("image.safetensors")).tensors
        let p = try VisionProcessor(directory: Fixtures.tinyModel)
        let (pixels, grids) = try p.images([try rgb(ref["image_0_rgb"]!), try rgb(ref["image_1_rgb"]!)])
        XCTAssertEqual(grids.flatMap { [Int64($0.t), Int64($0.h), Int64($0.w)] }, try ref["image_grid_thw"]!.int64s())
        XCTAssertEqual(pixels.shape, ref["pixel_values"]!.shape)
        XCTAssertLessThanOrEqual(Tolerance.maxAbsError(try pixels.floats(), try ref["pixel_values"]!.floats()), 1e-6)
    }

    func testVideoMatchesReferenceWithinOneStep() throws {
        let ref = try loadSafetensors(Fixtures.reference.appendingPathComponent("video.safetensors")).tensors
        let video = ref["video_rgb"]!
        let frames = try (0..<video.shape[0]).map { try rgb(video, frame: $0) }
        let (pixels, grid) = try VisionProcessor(directory: Fixtures.tinyModel).video(frames)
        XCTAssertEqual([Int64(grid.t), Int64(grid.h), Int64(grid.w)], try ref["video_grid_thw"]!.int64s())
        // Upscaled 112×140 → 308×364. We implement PIL's antialiased bicubic; torchvision's uint8 kernel differs
        // from PIL by one uint8 step (1 / (255 · std) ≈ 0.015 after normalization) at some pixels and by two at a
        // handful: Pillow 13's own resize, normalized and patchified, is off from this reference by exactly the
        // same max, 0.0300, at 2 of 1,345,344 values.
        let got = try pixels.floats(), want = try ref["pixel_values_videos"]!.floats()
        let step: Float = 1 / (255 * 0.2613) + 1e-5
        let err = Tolerance.maxAbsError(got, want)
        let overOne = zip(got, want).filter { abs($0 - $1) > step }.count
        print("video pixel_values: max abs err \(err), \(overOne) of \(got.count) values more than one step off")
        XCTAssertLessThanOrEqual(err, 2 * step)
        XCTAssertLessThanOrEqual(overOne, got.count / 10_000)
    }

    func testSmartResizeProbesAndErrors() throws {
        let p = VisionProcessor()
        XCTAssertTrue(try p.smartResize(height: 333, width: 517, minPixels: 3136, maxPixels: 12_845_056) == (336, 504))
        XCTAssertTrue(try p.smartResize(height: 90, width: 130, minPixels: 3136, maxPixels: 602_112) == (84, 140))
        XCTAssertTrue(try p.smartResize(height: 112, width: 140, minPixels: 100_352, maxPixels: 602_112) == (308, 364))
        XCTAssertThrowsError(try p.smartResize(height: 1, width: 300, minPixels: 3136, maxPixels: 602_112)) {
            XCTAssertTrue("\($0)".contains("aspect ratio"), "\($0)")
        }
        // An odd frame count repeats the last frame: 5 frames of 90×130 at the image budget → grid [3, 6, 10].
        var q = VisionProcessor()
        q.videoMinPixels = 3136
        let frame = RGBImage(width: 130, height: 90, pixels: [UInt8](repeating: 7, count: 130 * 90 * 3))
        let (pixels, grid) = try q.video(Array(repeating: frame, count: 5))
        XCTAssertEqual(grid, VisionEncoder.Grid(t: 3, h: 6, w: 10))
        XCTAssertEqual(pixels.shape, [180, 1176])
    }

    /// The resize kernels (AVX2 where the CPU has it, and the portable C path) give exactly the bytes of the scalar
    /// Swift resize they replaced: random frames of odd sizes, shrinking and enlarging along each axis, random
    /// bytes and saturated 0/255 patterns (whose bicubic overshoot is clamped), and a quarter-1080p frame shrunk
    /// as a 1080p video frame is.
    func testResizeKernelsEqualTheScalarReference() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        var cases: [(Int, Int, Int, Int)] = [(1, 1, 3, 5), (7, 1, 2, 9), (961, 541, 322, 168), (33, 17, 101, 13)]
        for _ in 0..<40 { cases.append((1 + next(97), 1 + next(97), 1 + next(131), 1 + next(131))) }
        defer { omni_cpu_override(-1) }
        for (i, (w, h, ow, oh)) in cases.enumerated() {
            let saturated = i % 3 == 0
            let pixels = (0..<(w * h * 3)).map { _ in saturated ? UInt8(next(2) * 255) : UInt8(next(256)) }
            let image = RGBImage(width: w, height: h, pixels: pixels)
            let want = VisionProcessor.resizeReference(image, width: ow, height: oh)
            for mask in [-1, 0] {
                omni_cpu_override(Int32(mask))
                let got = VisionProcessor.resize(image, width: ow, height: oh)
                XCTAssertEqual(got, want, "\(w)×\(h) → \(ow)×\(oh), \(mask == 0 ? "portable" : String(cString: omni_cpu_path()))")
            }
        }
    }
}
