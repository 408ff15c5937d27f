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

    @Option(help: "Output safetensors file: input_ids [1, seq] i64, attention_mask [1, seq] i64, with audio input_features [B, 128, frames] f32 and feature_attention_mask [B, frames] i64, with images pixel_values and image_grid_thw, with videos pixel_values_videos, video_grid_thw and metadata video_second_per_grid.")
    var out: String

    func validate() throws {
        try OptionCheck.outputFile(out, "--out", ext: "safetensors")
    }

    func run() throws {
        let dir = try ModelDirectory.resolve(model, revision: revision)
        let config = try OmniConfig.load(directory: dir.folder)
        let processor = try OmniProcessor(directory: dir.folder, config: config.thinker,
                                          executor: Executor(registry: BuiltinPlugins.registry()))
        let input = try prompt.input(processor, registry: BuiltinPlugins.registry())
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
        var metadata: [String: String] = [:]
        if let p = input.pixelValuesVideos {
            entries += [("pixel_values_videos", p),
                        ("video_grid_thw", Tensor(int64: input.videoGrids.flatMap { [Int64($0.t), Int64($0.h), Int64($0.w)] },
                                                  shape: [input.videoGrids.count, 3]))]
            metadata["video_second_per_grid"] = "[" + input.secondsPerGrid.map { "\($0)" }.joined(separator: ", ") + "]"
        }
        if input.useAudioInVideo { metadata["use_audio_in_video"] = "true" }
        let registry = BuiltinPlugins.registry()
        _ = try registry.weightFormat(named: "safetensors").write(
            entries.map { name, t in TensorEntry(name: name, dtype: t.dtype, shape: t.shape) { t } },
            to: URL(fileURLWithPath: out), options: WeightWriteOptions(metadata: metadata))
        print("wrote \(out): \(input.ids.count) tokens, \(input.imageGrids.count) image(s), \(input.videoGrids.count) video(s), "
              + "\(input.audioMask.map { $0.shape[0] } ?? 0) audio item(s)")
    }
}

/// One user turn from the command line: images, videos, then audio files, then the text (media before text, as
/// the Qwen2.5-Omni examples order them), with the default system prompt unless `--system`; or a whole
/// conversation with media where the user placed them (`--message`). Files of any format the registry's media
/// decoders read (with FFmpeg: JPEG, PNG, WebP, BMP, GIF; WAV, FLAC, MP3, OGG, M4A; MP4, MKV, WebM, MOV).
struct PromptArguments: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "User message; the chat template and the default system prompt are applied. It is text: special-token strings in it (<|im_start|>) stay plain text unless --raw-prompt.")
    var prompt: String?

    @Option(help: "An audio file (any channel count and rate; downmixed and resampled to 16 kHz) placed before the text; repeat for several.")
    var audio: [String] = []

    @Option(help: "An image file (JPEG, PNG, WebP, BMP, GIF, PPM) placed before the videos, audio and text; repeat for several.")
    var image: [String] = []

    @Option(help: "A video file (MP4, MKV, WebM, MOV…), frames sampled as qwen-omni-utils' fetch_video does, placed after the images; repeat for several.")
    var video: [String] = []

    @Option(help: "A conversation as chat-format JSON (a message or an array; items {\"type\": \"image\", \"image\": PATH}, audio, video, text), or @FILE holding it; media stay where placed. Replaces --prompt/--image/--audio/--video/--system.")
    var message: String?

    @Flag(name: .customLong("use-audio-in-video"), help: "Feed each video's audio track too, interleaved with its frames.")
    var useAudioInVideo = false

    @Option(name: .customLong("video-fps"), help: "Frames sampled per second of video (qwen-omni-utils' fps; default 2).")
    var videoFPS: Double = 2

    @Option(name: .customLong("video-max-frames"), help: "Most frames sampled from one video (default: min(768, the video's frames)).")
    var videoMaxFrames: Int?

    @Flag(name: .customLong("audio-segments"), help: "Feed audio longer than the feature extractor's 30 s window as consecutive 30 s items instead of truncating it (with a warning).")
    var audioSegments = false

    @Option(parsing: .unconditional,
            help: "System prompt (default: the chat template's \"You are a helpful assistant.\"; Qwen's speech prompt is ChatTemplate.speechSystemPrompt).")
    var system: String?

    @Flag(name: .customLong("raw-prompt"),
          help: "Treat special-token strings in --prompt, --system and --message text as control tokens (transformers' behaviour), for already-templated input.")
    var rawPrompt = false

    /// Whether any prompt or media was given.
    var isEmpty: Bool { prompt == nil && audio.isEmpty && image.isEmpty && video.isEmpty && message == nil }

    func validate() throws {
        if message != nil && (prompt != nil || !audio.isEmpty || !image.isEmpty || !video.isEmpty || system != nil) {
            throw ValidationError("--message holds the whole conversation: give it without --prompt, --image, --audio, --video or --system")
        }
        if !(videoFPS > 0 && videoFPS.isFinite) { throw ValidationError("--video-fps must be a positive number, got \(videoFPS)") }
        if let m = videoMaxFrames, m < 2 { throw ValidationError("--video-max-frames must be at least 2, got \(m)") }
    }

    /// The conversation and its media files in placeholder order.
    func conversation() throws -> ChatConversation {
        if let message {
            let json: Data
            if message.hasPrefix("@") {
                let path = String(message.dropFirst())
                do { json = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                    throw OmniError.io(path: path, reason: "cannot read --message file: \(error.localizedDescription)")
                }
            } else {
                json = Data(message.utf8)
            }
            return try ChatConversation(json: json)
        }
        var items: [[String: Any]] = image.map { ["type": "image", "image": $0] } + video.map { ["type": "video", "video": $0] }
            + audio.map { ["type": "audio", "audio": $0] }
        items.append(["type": "text", "text": prompt ?? ""])
        var messages: [[String: Any]] = system.map { [["role": "system", "content": $0]] } ?? []
        messages.append(["role": "user", "content": items])
        return try ChatConversation(json: try JSONSerialization.data(withJSONObject: messages), source: "the command line")
    }

    /// The processor outputs for this turn, media read through `registry`'s decoders.
    func input(_ processor: OmniProcessor, registry: PluginRegistry) throws -> ThinkerInput {
        var conv = try conversation()
        var sampling = VideoSampling()
        sampling.fps = videoFPS
        sampling.maxFrames = videoMaxFrames
        let rate = processor.audio?.samplingRate ?? 16000
        let loader = MediaLoader(registry: registry, sampleRate: rate, sampling: sampling)
        let window = processor.audio?.nSamples ?? 30 * rate
        var waveforms: [[Float]] = [], images: [RGBImage] = [], videos: [[RGBImage]] = [], fps: [Double] = []
        /// Long audio: cut by the feature extractor unless split (then the placeholder is repeated per segment).
        var audioRepeats: [Int] = []
        func addAudio(_ samples: [Float], path: String, splittable: Bool) {
            if samples.count > window && audioSegments && splittable {
                let parts = MediaLoader.segments(samples, length: window)
                waveforms += parts
                audioRepeats.append(parts.count)
                return
            }
            if samples.count > window {
                let seconds = String(format: "%.1f", Double(samples.count) / Double(rate))
                FileHandle.standardError.write(Data("warning: \(path): \(seconds) s of audio; the feature extractor keeps the first \(window / rate) s (--audio-segments feeds it all as consecutive \(window / rate) s items)\n".utf8))
            }
            waveforms.append(samples)
            audioRepeats.append(1)
        }
        for m in conv.media {
            switch m.kind {
            case .image: images.append(try loader.image(m.path))
            case .audio: addAudio(try loader.audio(m.path), path: m.path, splittable: true)
            case .video:
                let v = try loader.video(m.path)
                videos.append(v.frames)
                fps.append(v.sampleFPS)
                if useAudioInVideo {
                    guard v.info.hasAudio else {
                        throw OmniError.invalidArgument(name: "--use-audio-in-video", expected: "videos with an audio track", actual: "\(m.path) has none")
                    }
                    addAudio(try loader.audio(m.path), path: m.path, splittable: false)
                }
            }
        }
        // Repeat each split audio's placeholder once per segment.
        var k = 0
        conv.messages = conv.messages.map { msg in
            var out: [ChatMessage.Content] = []
            for item in msg.content {
                if item == .audio || (item == .video && useAudioInVideo) {
                    let n = k < audioRepeats.count ? audioRepeats[k] : 1
                    out += Array(repeating: item, count: item == .audio ? n : 1)
                    k += 1
                } else {
                    out.append(item)
                }
            }
            return ChatMessage(role: msg.role, content: out)
        }
        return try processor(conv.messages, waveforms: waveforms, images: images, videos: videos, videoFPS: fps,
                             useAudioInVideo: useAudioInVideo, rawText: rawPrompt)
    }
}
