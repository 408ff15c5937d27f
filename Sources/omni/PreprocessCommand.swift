import ArgumentParser
import Foundation
import SwiftOmni

/// `omni preprocess MODEL --prompt TEXT [--audio A.wav ...] --out IN.safetensors`: what `Qwen2_5OmniProcessor`
/// returns for one user turn, written under the Hugging Face names, ready for `forward` and `generate --inputs`.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Run the processor (chat template, Whisper features, placeholder expansion); write its outputs.")

    @Argument(help: "Model folder or Hugging Face id (tokenizer and processor config are read; no weights).")
    var model: String

    @Option(help: "Branch, tag or commit in the Hugging Face cache.") var revision = "main"

    @OptionGroup var prompt: PromptArguments

    @Option(help: "Output safetensors file: input_ids [1, seq] i64, attention_mask [1, seq] i64, and with audio input_features [B, 128, frames] f32 and feature_attention_mask [B, frames] i64.")
    var out: String

    func validate() throws {
        try OptionCheck.outputFile(out, "--out", ext: "safetensors")
    }

    func run() throws {
        let dir = try ModelDirectory.resolve(model, revision: revision)
        let config = try OmniConfig.load(directory: dir.folder)
        let processor = try OmniProcessor(directory: dir.folder, config: config.thinker,
                                          executor: Executor(registry: BuiltinPlugins.registry()))
        let input = try prompt.input(processor)
        var entries = [("input_ids", Tensor(int64: input.ids.map(Int64.init), shape: [1, input.ids.count])),
                       ("attention_mask", Tensor(int64: Array(repeating: 1, count: input.ids.count), shape: [1, input.ids.count]))]
        if let f = input.audioFeatures, let m = input.audioMask {
            entries += [("input_features", f), ("feature_attention_mask", m)]
        }
        if let p = input.pixelValues {
            entries += [("pixel_values", p),
                        ("image_grid_thw", Tensor(int64: input.imageGrids.flatMap { [Int64($0.t), Int64($0.h), Int64($0.w)] },
                                                  shape: [input.imageGrids.count, 3]))]
        }
        let registry = BuiltinPlugins.registry()
        _ = try registry.weightFormat(named: "safetensors").write(
            entries.map { name, t in TensorEntry(name: name, dtype: t.dtype, shape: t.shape) { t } },
            to: URL(fileURLWithPath: out), options: WeightWriteOptions())
        print("wrote \(out): \(input.ids.count) tokens, \(prompt.image.count) image(s), \(prompt.audio.count) audio(s)")
    }
}

/// One user turn from the command line: images, then audio files, then the text (media before text, as the
/// Qwen2.5-Omni examples order them), with the default system prompt unless `--system`.
struct PromptArguments: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "User message; the chat template and the default system prompt are applied. It is text: special-token strings in it (<|im_start|>) stay plain text unless --raw-prompt.")
    var prompt: String?

    @Option(help: "A WAV file (PCM or float, any channel count and rate; resampled to 16 kHz) placed before the text; repeat for several.")
    var audio: [String] = []

    @Option(help: "A binary PPM/PGM image (P6/P5; convert others with e.g. ffmpeg -i in.jpg out.ppm) placed before the audio and text; repeat for several.")
    var image: [String] = []

    @Option(parsing: .unconditional,
            help: "System prompt (default: the chat template's \"You are a helpful assistant.\"; Qwen's speech prompt is ChatTemplate.speechSystemPrompt).")
    var system: String?

    @Flag(name: .customLong("raw-prompt"),
          help: "Treat special-token strings in --prompt and --system as control tokens (transformers' behaviour), for already-templated input.")
    var rawPrompt = false

    /// The processor outputs for this turn.
    func input(_ processor: OmniProcessor) throws -> ThinkerInput {
        let rate = processor.audio?.samplingRate ?? 16000
        let waveforms = try audio.map { path -> [Float] in
            let wav = try WAVFile(path: path)
            if wav.sampleRate == rate { return wav.samples }
            do {
                return try Resampler(from: wav.sampleRate, to: rate)(wav.samples)
            } catch {
                throw OmniError.invalidArgument(name: "--audio \(path)", expected: "a sample rate convertible to \(rate) Hz (resample first, e.g. ffmpeg -i IN -ar \(rate) OUT.wav)",
                                                actual: "\(wav.sampleRate) Hz")
            }
        }
        let images = try image.map { try PPMFile.read(path: $0) }
        let content = Array(repeating: ChatMessage.Content.image, count: image.count)
            + Array(repeating: ChatMessage.Content.audio, count: audio.count) + [.text(prompt ?? "")]
        let messages = (system.map { [ChatMessage(role: "system", text: $0)] } ?? []) + [ChatMessage(role: "user", content: content)]
        return try processor(messages, waveforms: waveforms, images: images, rawText: rawPrompt)
    }
}
