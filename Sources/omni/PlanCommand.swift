import ArgumentParser
import Foundation
import SwiftOmni

/// `omni plan MODEL`: where every component would go and how much memory it would take, from the config
/// and tensor headers alone (no tensor data is read).
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show where every component goes and the memory it needs, before loading anything.",
        discussion: "--device-map also takes an explicit map: thinker=cpu,talker=disk (longest prefix wins). "
            + "--max-memory budgets cover weights, KV cache and activations; disk pages weights in unless it is "
            + "given a budget. Long inputs: the plan picks the largest --prefill-chunk, --audio-windows and --vision-slices "
            + "whose activations fit what --max-memory leaves after weights, KV cache and prompt rows (whole without a "
            + "budget); giving one fixes it.")

    @OptionGroup var args: ModelArguments

    @Option(name: .customLong("prompt-tokens"), parsing: .unconditional,
            help: "Text tokens of the prompt, chat template included: 0 … the model's positions.")
    var promptTokens = 256

    @Option(name: .customLong("audio-seconds"), parsing: .unconditional, help: "Seconds of audio input: 0 … 86400.")
    var audioSeconds = 0.0

    @Option(name: .customLong("video-seconds"), parsing: .unconditional,
            help: "Seconds of video input (2 fps, up to 768 tokens per 2 frames): 0 … 86400.")
    var videoSeconds = 0.0

    @Option(name: .customLong("video-frame-pixels"), parsing: .unconditional,
            help: "Pixels per video frame after resizing: 784 … 602112 (the processor's cap, 768 tokens per 2 frames).")
    var videoFramePixels = 602_112

    @Option(name: .customLong("image-pixels"), parsing: .unconditional, help: "Pixels over all images after resizing: 0 … 2^40.")
    var imagePixels = 0

    @Option(name: .customLong("max-new-tokens"), parsing: .unconditional, help: "Tokens to generate: 0 … the model's positions.")
    var maxNewTokens = 256

    @Option(name: .customLong("talker-max-new-tokens"),
            help: "Codec codes the talker may generate (default: about 16 per new token, at most 4096).")
    var talkerMaxNewTokens: Int?

    @Option(name: .customLong("prefill-chunk"), parsing: .unconditional,
            help: "Plan prefill in chunks of N prompt rows: 1 … the model's positions. Default: the largest that fits --max-memory.")
    var prefillChunk: Int?

    @OptionGroup var towers: TowerChunkArguments

    @Option(parsing: .unconditional,
            help: "Sessions of this size decoding at once in batched steps (KV cache for each, one batched step): 1 … 256.")
    var batch = 1

    @Flag(name: .customLong("no-audio-output"), help: "Plan without talker and token2wav (text output only).")
    var noAudioOutput = false

    @Flag(name: .customLong("all-components"),
          help: "Plan every component in the checkpoint, including those this version does not build yet.")
    var allComponents = false

    func validate() throws {
        try OptionCheck.int(promptTokens, "--prompt-tokens", 0...(1 << 31))
        try OptionCheck.int(imagePixels, "--image-pixels", 0...(1 << 40))
        try OptionCheck.int(videoFramePixels, "--video-frame-pixels", 784...602_112)
        try OptionCheck.int(maxNewTokens, "--max-new-tokens", 0...(1 << 31))
        if let n = prefillChunk { try OptionCheck.int(n, "--prefill-chunk", 1...Int(Int32.max), unit: " (at most the model's positions)") }
        try OptionCheck.int(batch, "--batch", 1...256)
        try OptionCheck.double(audioSeconds, "--audio-seconds", 0...86400, unit: " seconds")
        try OptionCheck.double(videoSeconds, "--video-seconds", 0...86400, unit: " seconds")
        if let n = talkerMaxNewTokens {
            try OptionCheck.int(n, "--talker-max-new-tokens", TalkerOptions.maxNewTokensRange)
        }
        try args.validateOptions()
    }

    /// The plan for these arguments (`LoadPlan.forPretrained`; this command only prints it).
    func makePlan(registry: PluginRegistry = BuiltinPlugins.registry()) throws -> LoadPlan {
        var options = try args.loadOptions(enableAudioOutput: !noAudioOutput)
        options.chunks = towers.requested(prefillChunk: prefillChunk)
        var input = InputSize(textTokens: promptTokens, audioSeconds: audioSeconds, videoSeconds: videoSeconds,
                              videoFramePixels: videoFramePixels, imagePixels: imagePixels, maxNewTokens: maxNewTokens,
                              talkerMaxNewTokens: talkerMaxNewTokens)
        input.sessions = batch
        do {
            return try LoadPlan.forPretrained(args.model, options: options, input: input, registry: registry,
                                              allComponents: allComponents)
        } catch let OmniError.invalidArgument(name, expected, actual) {
            // The library names InputSize's fields; say which option they came from.
            let option = ["maxNewTokens": "--max-new-tokens", "prompt length": "the prompt (--prompt-tokens plus the tokens of --audio-seconds, --video-seconds at --video-frame-pixels, --image-pixels; smaller frames make fewer tokens)"]
            throw OmniError.invalidArgument(name: option[name] ?? name, expected: expected, actual: actual)
        }
    }

    func run() throws {
        try Console.out(try makePlan().report + "\n")
    }
}
