// libFuzzer target: arbitrary bytes as a model's config.json (see Fuzz/README-reliability.md), through everything
// loading does before a graph is built: `OmniConfig.parse`, the layer counts against the tiny checkpoint's tensor
// names (`CheckpointLimits.check`), the positions check, the memory estimates for a default input and for one at
// the model's positions, and, for configs the checks accept, the thinker's graph description (`expectedWeights`).
// Any input may throw an `OmniError`; none may crash, trap, hang or allocate without bound.
import Foundation
import OmniCore
import Qwen25Omni

/// `OMNI_FUZZ_VERBOSE=1` prints what each input parsed as.
let verbose = ProcessInfo.processInfo.environment["OMNI_FUZZ_VERBOSE"] == "1"

/// Layer keys of a checkpoint with 2 text layers, 2 audio layers, 2 vision blocks and 2 talker layers (the tiny one).
let names: [String] = (0..<2).flatMap { i in
    ["thinker.model.layers.\(i).mlp.up_proj.weight", "thinker.audio_tower.layers.\(i).fc1.weight",
     "thinker.visual.blocks.\(i).mlp.up_proj.weight", "talker.model.layers.\(i).mlp.up_proj.weight"]
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let config = try? OmniConfig.parse(Data(bytes: data, count: size), file: "fuzz/config.json") else { return 0 }
    if verbose { print("parsed: text layers \(config.thinker.text.layers), hidden \(config.thinker.text.hiddenSize)") }
    guard (try? CheckpointLimits.check(config: config, names: names)) != nil else { return 0 }
    let positions = config.thinker.text.maxPositionEmbeddings
    _ = try? CheckpointLimits.checkPositions(promptTokens: 256, maxNewTokens: 256, config: config)
    for input in [InputSize(), InputSize(textTokens: 0, audioSeconds: 30, imagePixels: 1 << 20, maxNewTokens: max(0, positions))] {
        _ = try? MemoryEstimates(config: config, input: input, audioOutput: true)
    }
    // What loading builds next: the decoder's graph description, only for sizes a real checkpoint could hold
    // (strict loading then compares every shape with the checkpoint's).
    let t = config.thinker.text
    if t.hiddenSize <= 4096, t.intermediateSize <= 16384, t.vocabSize <= 1 << 18, t.heads <= 64, t.headDim <= 512 {
        let model = ThinkerTextModel(config: t, attention: ["eager"])
        if verbose { print("graph: \(model.expectedWeights().count) weights") }
    }
    return 0
}
