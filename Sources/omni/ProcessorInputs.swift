import Foundation
import SwiftOmni

/// Processor outputs read from a safetensors file under their Hugging Face names, shared by `forward` and
/// `generate`: `input_ids` ([seq] or [1, seq], int), optional `attention_mask`, optional `input_features` with its
/// required `feature_attention_mask`, `pixel_values` with `image_grid_thw`, `pixel_values_videos` with
/// `video_grid_thw`, and the metadata values `use_audio_in_video` and `video_second_per_grid` (JSON). Other tensors
/// are ignored.
struct ProcessorInputs {
    var input: ThinkerInput
    /// One value per id (all ones when the file has no mask).
    var attentionMask: [Int64]

    init(path: String, registry: PluginRegistry) throws {
        let source = try registry.weightFormat(named: "safetensors").open(URL(fileURLWithPath: path))
        guard let idsTensor = try? source.tensor("input_ids") else { throw OmniError.missingTensor(key: "input_ids", file: path) }
        guard idsTensor.dtype == .i64 || idsTensor.dtype == .i32,
              idsTensor.shape.rank == 1 || (idsTensor.shape.rank == 2 && idsTensor.shape[0] == 1) else {
            throw OmniError.invalidArgument(name: "\(path): input_ids", expected: "[seq] or [1, seq] int64",
                                            actual: "\(idsTensor.shape) \(idsTensor.dtype)")
        }
        let ids = try idsTensor.int64s().map { Int($0) }
        attentionMask = [Int64](repeating: 1, count: ids.count)
        if source.info("attention_mask") != nil {
            attentionMask = try source.tensor("attention_mask").int64s()
            guard attentionMask.count == ids.count else {
                throw OmniError.invalidArgument(name: "\(path): attention_mask", expected: "\(ids.count) values",
                                                actual: "\(attentionMask.count)")
            }
        }
        input = ThinkerInput(ids: ids)
        if source.info("input_features") != nil {
            guard source.info("feature_attention_mask") != nil else {
                throw OmniError.invalidArgument(name: "\(path): feature_attention_mask",
                                                expected: "present with input_features (as the processor writes it)", actual: "missing")
            }
            let f = try source.tensor("input_features"), m = try source.tensor("feature_attention_mask")
            guard f.dtype == .f32 else {
                throw OmniError.invalidArgument(name: "\(path): input_features", expected: "f32", actual: "\(f.dtype)")
            }
            input.audioFeatures = f
            input.audioMask = m
        }
        func grids(_ name: String) throws -> [VisionEncoder.Grid] {
            try VisionEncoder.Grid.list(try source.tensor(name), name: "\(path): \(name)")
        }
        for (pixels, grid) in [("pixel_values", "image_grid_thw"), ("pixel_values_videos", "video_grid_thw")] where source.info(pixels) != nil {
            guard source.info(grid) != nil else {
                throw OmniError.invalidArgument(name: "\(path): \(grid)", expected: "present with \(pixels)", actual: "missing")
            }
            if pixels == "pixel_values" {
                input.pixelValues = try source.tensor(pixels); input.imageGrids = try grids(grid)
            } else {
                input.pixelValuesVideos = try source.tensor(pixels); input.videoGrids = try grids(grid)
            }
        }
        let meta = source.metadata
        if let s = meta["use_audio_in_video"] {
            guard case let .bool(b) = try JSONValue.parse(Data(s.utf8), file: "\(path): __metadata__.use_audio_in_video") else {
                throw OmniError.invalidArgument(name: "\(path): use_audio_in_video", expected: "true or false", actual: s)
            }
            input.useAudioInVideo = b
        }
        if let s = meta["video_second_per_grid"] {
            guard case let .array(values) = try JSONValue.parse(Data(s.utf8), file: "\(path): __metadata__.video_second_per_grid") else {
                throw OmniError.invalidArgument(name: "\(path): video_second_per_grid", expected: "a JSON array of numbers", actual: s)
            }
            input.secondsPerGrid = try values.map {
                switch $0 {
                case let .double(d) where d > 0: return d
                case let .int(i) where i > 0: return Double(i)
                default: throw OmniError.invalidArgument(name: "\(path): video_second_per_grid", expected: "positive numbers", actual: s)
                }
            }
        } else if !input.videoGrids.isEmpty {
            input.secondsPerGrid = Array(repeating: 1.0, count: input.videoGrids.count)   // the processor's fps 2 default
        }
    }
}
