import Foundation
import SwiftOmni

/// Processor outputs read from a safetensors file under their Hugging Face names, shared by `forward` and
/// `generate`: `input_ids` ([seq] or [1, seq], int), optional `attention_mask`, and optional `input_features`
/// with its required `feature_attention_mask`. Other tensors are ignored.
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
    }
}
