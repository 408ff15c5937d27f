import Foundation
import OmniCore

/// `Qwen2VLImageProcessor` / `Qwen2VLVideoProcessor` as the Omni processor runs them (OMNI-SPEC §6.2–6.3):
/// smart_resize to multiples of 28 within a pixel budget, PIL-style antialiased bicubic resize on uint8, fused
/// rescale + normalize, and the merge-block patch order the vision tower expects.
public struct VisionProcessor: Sendable {
    /// Patch side, frames per temporal patch, and the 2×2 merge the tower applies.
    public var patchSize = 14, temporalPatchSize = 2, mergeSize = 2
    /// Image pixel budget (`size.shortest_edge` / `size.longest_edge`, or `min_pixels` / `max_pixels`).
    public var minPixels = 3136, maxPixels = 12_845_056
    /// The Omni processor's video budget: 128 to 768 merged tokens per frame.
    public var videoMinPixels = 100_352, videoMaxPixels = 602_112
    /// Per-channel normalization (OpenAI CLIP values by default).
    public var mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public var std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// The checkpoint defaults.
    public init() {}

    /// Reads `processor_config.json`'s `image_processor` object (transformers ≥ 5) or a flat
    /// `preprocessor_config.json` (the published checkpoint); missing keys keep the checkpoint defaults.
    public init(directory: URL) throws {
        self.init()
        guard let c = try ProcessorConfigFile.section("image_processor", in: directory) else { return }
        let o = c.values
        func floats(_ key: String) throws -> [Float]? {
            guard let v = o[key] else { return nil }
            guard case let .array(a) = v, a.count == 3 else {
                throw OmniError.config(file: c.file, keyPath: c.prefix + key, expected: "3 numbers", actual: "\(v)")
            }
            return try a.map {
                switch $0 {
                case let .double(d): return Float(d)
                case let .int(i): return Float(i)
                default: throw OmniError.config(file: c.file, keyPath: c.prefix + key, expected: "3 numbers", actual: "\(v)")
                }
            }
        }
        patchSize = try c.positiveInt("patch_size") ?? patchSize
        temporalPatchSize = try c.positiveInt("temporal_patch_size") ?? temporalPatchSize
        mergeSize = try c.positiveInt("merge_size") ?? mergeSize
        if case let .object(size)? = o["size"] {
            minPixels = try c.positiveInt("shortest_edge", in: size) ?? minPixels
            maxPixels = try c.positiveInt("longest_edge", in: size) ?? maxPixels
        }
        minPixels = try c.positiveInt("min_pixels") ?? minPixels
        maxPixels = try c.positiveInt("max_pixels") ?? maxPixels
        mean = try floats("image_mean") ?? mean
        std = try floats("image_std") ?? std
    }

    var factor: Int { patchSize * mergeSize }

    /// `smart_resize`: the (height, width) a frame is resized to, multiples of 28 within [min, max] pixels.
    public func smartResize(height: Int, width: Int, minPixels: Int, maxPixels: Int) throws -> (height: Int, width: Int) {
        guard height > 0, width > 0 else {
            throw OmniError.invalidArgument(name: "image", expected: "a non-empty image", actual: "\(width)×\(height)")
        }
        guard max(height, width) <= 200 * min(height, width) else {
            throw OmniError.invalidArgument(name: "image", expected: "an aspect ratio of at most 200", actual: "\(width)×\(height)")
        }
        let f = Double(factor)
        func roundHalfEven(_ x: Double) -> Double { x.rounded(.toNearestOrEven) }
        var h = Int(roundHalfEven(Double(height) / f) * f), w = Int(roundHalfEven(Double(width) / f) * f)
        if h * w > maxPixels {
            let beta = (Double(height * width) / Double(maxPixels)).squareRoot()
            h = max(factor, Int((Double(height) / beta / f).rounded(.down) * f))
            w = max(factor, Int((Double(width) / beta / f).rounded(.down) * f))
        } else if h * w < minPixels {
            let beta = (Double(minPixels) / Double(height * width)).squareRoot()
            h = Int((Double(height) * beta / f).rounded(.up) * f)
            w = Int((Double(width) * beta / f).rounded(.up) * f)
        }
        return (h, w)
    }

    /// `pixel_values` [Σ patches, 3·T·P·P] and `image_grid_thw` for images.
    public func images(_ images: [RGBImage]) throws -> (pixels: Tensor, grids: [VisionEncoder.Grid]) {
        var rows: [Float] = [], grids: [VisionEncoder.Grid] = []
        for image in images {
            let (h, w) = try smartResize(height: image.height, width: image.width, minPixels: minPixels, maxPixels: maxPixels)
            let frame = normalize(Self.resize(image, width: w, height: h))
            rows += patchify([frame, frame], height: h, width: w)
            grids.append(.init(t: 1, h: h / patchSize, w: w / patchSize))
        }
        return (Tensor(rows, shape: [rows.count / rowWidth, rowWidth]), grids)
    }

    /// `pixel_values_videos` [patches, 3·T·P·P] and the `video_grid_thw` of one video (all frames the same size;
    /// an odd count repeats the last frame).
    public func video(_ frames: [RGBImage]) throws -> (pixels: Tensor, grid: VisionEncoder.Grid) {
        guard let first = frames.first else { throw OmniError.invalidArgument(name: "video", expected: "at least one frame", actual: "none") }
        guard frames.allSatisfy({ $0.width == first.width && $0.height == first.height }) else {
            throw OmniError.invalidArgument(name: "video", expected: "frames of one size (\(first.width)×\(first.height))", actual: "mixed sizes")
        }
        let (h, w) = try smartResize(height: first.height, width: first.width, minPixels: videoMinPixels, maxPixels: videoMaxPixels)
        var normalized = frames.map { normalize(Self.resize($0, width: w, height: h)) }
        while normalized.count % temporalPatchSize != 0 { normalized.append(normalized.last!) }
        var rows: [Float] = []
        for t in stride(from: 0, to: normalized.count, by: temporalPatchSize) {
            rows += patchify(Array(normalized[t..<(t + temporalPatchSize)]), height: h, width: w)
        }
        let grid = VisionEncoder.Grid(t: normalized.count / temporalPatchSize, h: h / patchSize, w: w / patchSize)
        return (Tensor(rows, shape: [rows.count / rowWidth, rowWidth]), grid)
    }

    var rowWidth: Int { 3 * temporalPatchSize * patchSize * patchSize }

    /// Channel-planar fp32 (3 × H × W): (x − 255·mean) / (255·std), as the fused rescale + normalize computes it.
    func normalize(_ image: RGBImage) -> [Float] {
        let n = image.width * image.height
        var out = [Float](repeating: 0, count: 3 * n)
        for c in 0..<3 {
            let m = mean[c] * 255, s = std[c] * 255
            for i in 0..<n { out[c * n + i] = (Float(image.pixels[i * 3 + c]) - m) / s }
        }
        return out
    }

    /// Rows of one temporal patch (`frames.count == temporalPatchSize`), in (block row, block column, dy, dx)
    /// order, each [channel][τ][y][x].
    func patchify(_ frames: [[Float]], height h: Int, width w: Int) -> [Float] {
        let p = patchSize, m = mergeSize, gh = h / p, gw = w / p, plane = h * w
        var out: [Float] = []
        out.reserveCapacity(gh * gw * rowWidth)
        for bh in 0..<(gh / m) {
            for bw in 0..<(gw / m) {
                for dy in 0..<m {
                    for dx in 0..<m {
                        let y0 = (bh * m + dy) * p, x0 = (bw * m + dx) * p
                        for c in 0..<3 {
                            for f in frames {
                                for y in 0..<p { for x in 0..<p { out.append(f[c * plane + (y0 + y) * w + x0 + x]) } }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
