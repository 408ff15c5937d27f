import Foundation
import OmniCore

/// `Qwen2_5OmniProcessor` for text and audio (OMNI-SPEC §6): renders the chat template, computes Whisper
/// features for the audios, and expands each `<|AUDIO|>` into as many placeholders as the audio tower will
/// produce for that audio. Images and video come with the vision tower.
public struct OmniProcessor: Sendable {
    public let tokenizer: Tokenizer
    /// nil when the checkpoint has no feature-extractor config (a text-only export); audio input is then an error.
    public let audio: WhisperFeatureExtractor?
    /// `<|AUDIO|>`'s id.
    public let audioTokenID: Int
    public var template: ChatTemplate
    /// Runs the feature extractor's STFT graph (nil: the Float64 FFT path, slower).
    public var executor: (any GraphExecutor)?

    public init(tokenizer: Tokenizer, audio: WhisperFeatureExtractor?, audioTokenID: Int, template: ChatTemplate = ChatTemplate(),
                executor: (any GraphExecutor)? = nil) {
        self.tokenizer = tokenizer
        self.audio = audio
        self.audioTokenID = audioTokenID
        self.template = template
        self.executor = executor
    }

    /// Processor outputs for a conversation whose `.audio` items take `waveforms` in order (16 kHz mono).
    public func callAsFunction(_ messages: [ChatMessage], waveforms: [[Float]] = [],
                               addGenerationPrompt: Bool = true) throws -> ThinkerInput {
        let ids = tokenizer.encode(template.render(messages, addGenerationPrompt: addGenerationPrompt))
        return try expand(ids: ids, waveforms: waveforms)
    }

    /// Replaces the i-th `<|AUDIO|>` of `ids` by the token count of the i-th waveform and attaches the features.
    public func expand(ids: [Int], waveforms: [[Float]]) throws -> ThinkerInput {
        let slots = ids.filter { $0 == audioTokenID }.count
        guard slots == waveforms.count else {
            throw OmniError.invalidArgument(name: "audio", expected: "\(slots) waveform(s), one per <|AUDIO|> in the prompt",
                                            actual: "\(waveforms.count)")
        }
        guard !waveforms.isEmpty else { return ThinkerInput(ids: ids) }
        guard let audio else {
            throw OmniError.unsupported(what: "audio input", reasons: ["the checkpoint has no feature extractor config (processor_config.json or preprocessor_config.json)"])
        }
        let counts = waveforms.map { AudioEncoder.tokens(frames: audio.validFrames(samples: $0.count)) }
        if let i = counts.firstIndex(where: { $0 < 1 }) {
            throw OmniError.invalidArgument(name: "audio[\(i)]", expected: "at least \(2 * audio.hopLength + 1) samples (one audio token)",
                                            actual: "\(waveforms[i].count)")
        }
        var out: [Int] = [], next = 0
        out.reserveCapacity(ids.count + counts.reduce(0, +))
        for id in ids {
            if id == audioTokenID {
                out += Array(repeating: audioTokenID, count: counts[next])
                next += 1
            } else {
                out.append(id)
            }
        }
        let (features, mask) = try audio(waveforms, executor: executor)
        return ThinkerInput(ids: out, audioFeatures: features, audioMask: mask)
    }
}

extension OmniModel {
    /// The processor for this checkpoint (its tokenizer, feature extractor config and placeholder ids).
    public func processor() throws -> OmniProcessor {
        OmniProcessor(tokenizer: tokenizer, audio: try WhisperFeatureExtractor.ifConfigured(directory: directory.folder),
                      audioTokenID: config.thinker.audioTokenID, executor: executor)
    }
}
