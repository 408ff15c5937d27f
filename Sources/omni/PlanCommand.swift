import ArgumentParser
import Foundation
import OmniCore
import Qwen25Omni

/// `omni plan MODEL`: where every component would go and how much memory it would take, from the config
/// and tensor headers alone (no tensor data is read).
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show where every component goes and the memory it needs, before loading anything.")

    @Argument(help: "A model folder, a weight file, or a hub id in the local Hugging Face cache.")
    var model: String

    @OptionGroup var load: LoadOptions

    @Option(name: .customLong("prompt-tokens"), help: "Text tokens of the prompt, chat template included.")
    var promptTokens = 256

    @Option(name: .customLong("audio-seconds"), help: "Seconds of audio input.")
    var audioSeconds = 0.0

    @Option(name: .customLong("video-seconds"), help: "Seconds of video input (2 fps, 768 tokens per 2 frames).")
    var videoSeconds = 0.0

    @Option(name: .customLong("image-pixels"), help: "Pixels over all images after resizing.")
    var imagePixels = 0

    @Option(name: .customLong("max-new-tokens"), help: "Tokens to generate.")
    var maxNewTokens = 256

    @Flag(name: .customLong("no-audio-output"), help: "Plan without talker and token2wav (text output only).")
    var noAudioOutput = false

    func validate() throws {
        for (v, name) in [(promptTokens, "--prompt-tokens"), (imagePixels, "--image-pixels"),
                          (maxNewTokens, "--max-new-tokens")] where v < 0 {
            throw ValidationError("argument \(name): expected a non-negative integer, got \(v)")
        }
        for (v, name) in [(audioSeconds, "--audio-seconds"), (videoSeconds, "--video-seconds")] where !(v >= 0) {
            throw ValidationError("argument \(name): expected non-negative seconds, got \(v)")
        }
    }

    func run() throws {
        let registry = Composition.registry()
        let input = InputSize(textTokens: promptTokens, audioSeconds: audioSeconds, videoSeconds: videoSeconds,
                              imagePixels: imagePixels, maxNewTokens: maxNewTokens)
        let options = try load.options(registry: registry, input: input,
                                       enableAudioOutput: noAudioOutput ? false : nil)
        let directory = try ModelDirectory.resolve(model, revision: load.revision)
        let source = try registry.weightFormat(for: directory.url).open(directory.url)
        let infos = source.names.compactMap { source.info($0) }
        let plan = try LoadPlan.make(directory: directory, infos: infos, options: options, registry: registry)
        print(plan.report)
    }
}
