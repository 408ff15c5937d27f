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
            + "given a budget.")

    @OptionGroup var args: ModelArguments

    @Option(name: .customLong("prompt-tokens"), help: "Text tokens of the prompt, chat template included.")
    var promptTokens = 256

    @Option(name: .customLong("audio-seconds"), help: "Seconds of audio input.")
    var audioSeconds = 0.0

    @Option(name: .customLong("video-seconds"), help: "Seconds of video input (2 fps, up to 768 tokens per 2 frames).")
    var videoSeconds = 0.0

    @Option(name: .customLong("image-pixels"), help: "Pixels over all images after resizing.")
    var imagePixels = 0

    @Option(name: .customLong("max-new-tokens"), help: "Tokens to generate.")
    var maxNewTokens = 256

    @Option(name: .customLong("talker-max-new-tokens"),
            help: "Codec codes the talker may generate (default: about 16 per new token, at most 4096).")
    var talkerMaxNewTokens: Int?

    @Flag(name: .customLong("no-audio-output"), help: "Plan without talker and token2wav (text output only).")
    var noAudioOutput = false

    func validate() throws {
        for (v, name) in [(promptTokens, "--prompt-tokens"), (imagePixels, "--image-pixels"),
                          (maxNewTokens, "--max-new-tokens")] where v < 0 {
            throw ValidationError("argument \(name): expected a non-negative integer, got \(v)")
        }
        if let n = talkerMaxNewTokens, !TalkerOptions.maxNewTokensRange.contains(n) {
            throw ValidationError("argument --talker-max-new-tokens: expected an integer in "
                + "\(TalkerOptions.maxNewTokensRange.lowerBound)...\(TalkerOptions.maxNewTokensRange.upperBound), got \(n)")
        }
        for (v, name) in [(audioSeconds, "--audio-seconds"), (videoSeconds, "--video-seconds")] where !(v >= 0) {
            throw ValidationError("argument \(name): expected non-negative seconds, got \(v)")
        }
        _ = try args.deviceMapValue()
    }


    /// The plan for these arguments.
    func makePlan(registry: PluginRegistry = BuiltinPlugins.registry()) throws -> LoadPlan {
        let options = LoadOptions(dtype: try args.dtypePolicy(), attention: args.attention, deviceMap: try args.deviceMapValue(),
                                  maxMemory: try args.budgets(), revision: args.revision,
                                  enableAudioOutput: !noAudioOutput)
        let input = InputSize(textTokens: promptTokens, audioSeconds: audioSeconds, videoSeconds: videoSeconds,
                              imagePixels: imagePixels, maxNewTokens: maxNewTokens,
                              talkerMaxNewTokens: talkerMaxNewTokens)
        let directory = try ModelDirectory.resolve(args.model, revision: args.revision)
        let source = try registry.weightFormat(for: directory.url).open(directory.url)
        let infos = source.names.compactMap { source.info($0) }
        return try LoadPlan.make(directory: directory, infos: infos, options: options, input: input, registry: registry,
                                 explicitPlacement: BuiltinPlugins.explicitPlacement(map:),
                                 components: allComponents ? Set(Component.allCases) : OmniModel.builtComponents)
    }

    @Flag(name: .customLong("all-components"),
          help: "Plan every component in the checkpoint, including those this version does not build yet.")
    var allComponents = false

    func run() throws {
        print(try makePlan().report)
    }
}
