import OmniCore

/// Processor outputs for one video with its audio track, made directly (no media file, no tokenizer): what
/// `OmniProcessor` gives with `use_audio_in_video` for a clip sampled as qwen-omni-utils does (2 fps, two frames
/// per temporal patch, so one t-slice a second and `video_second_per_grid` 1.0; 100 mel frames a second of audio).
/// Issue 14's long-video rows (`omni bench long-video`) and their transformers peer
/// (`Benchmarks/cuda/bench_long_video.py`) lay the prompt out the same way:
///
///     text before · <|vision_bos|> <|audio_bos|> (video chunk j, audio chunk j)… <|audio_eos|> <|vision_eos|> · text after
///
/// where each chunk covers `seconds_per_chunk` (2 s) of `position_id_per_seconds` (25) time units.
public struct SyntheticVideoInput: Sendable {
    /// Seconds of video (t-slices) and of its audio.
    public var seconds: Int
    /// Resized frame size in pixels (multiples of patch × merge, 28 for Qwen2.5-Omni), e.g. 560 × 1008 for a
    /// 1920 × 1080 source under qwen-omni-utils' 768-token frame cap.
    public var frameHeight: Int, frameWidth: Int
    /// Text tokens before and after the video span (chat template, system prompt, question).
    public var textBefore: Int, textAfter: Int

    /// A clip of `seconds` at `frameHeight` × `frameWidth` with `textBefore` / `textAfter` text tokens around it.
    public init(seconds: Int, frameHeight: Int = 560, frameWidth: Int = 1008, textBefore: Int = 48, textAfter: Int = 8) {
        self.seconds = seconds
        self.frameHeight = frameHeight
        self.frameWidth = frameWidth
        self.textBefore = textBefore
        self.textAfter = textAfter
    }

    /// The video's grid in patches: one t-slice a second.
    public func grid(_ vision: VisionConfig) -> VisionEncoder.Grid {
        VisionEncoder.Grid(t: seconds, h: frameHeight / vision.patchSize, w: frameWidth / vision.patchSize)
    }

    /// Valid mel frames of the audio track (100 a second).
    public var audioFrames: Int { seconds * 100 }

    /// Throws `OmniError.invalidArgument` naming the field unless the clip is 1 … 3600 s, its frames whole merged
    /// patches of `config` and at most 4096 pixels a side, and the text counts 0 … 4096.
    public func validate(_ config: ThinkerConfig) throws {
        let unit = config.vision.patchSize * config.vision.spatialMergeSize
        guard (1...3600).contains(seconds) else {
            throw OmniError.invalidArgument(name: "seconds", expected: "1 … 3600", actual: "\(seconds)")
        }
        for (v, name) in [(frameHeight, "frameHeight"), (frameWidth, "frameWidth")] where !(v >= unit && v <= 4096 && v % unit == 0) {
            throw OmniError.invalidArgument(name: name, expected: "a multiple of \(unit) in \(unit) … 4096 pixels", actual: "\(v)")
        }
        for (v, name) in [(textBefore, "textBefore"), (textAfter, "textAfter")] where !(0...4096).contains(v) {
            throw OmniError.invalidArgument(name: name, expected: "0 … 4096 tokens", actual: "\(v)")
        }
    }

    /// The prompt ids with the interleaved placeholders (text tokens are id `textID`).
    public func ids(config: ThinkerConfig, textID: Int = 1) throws -> [Int] {
        try validate(config)
        guard let vbos = config.visionStartTokenID, let veos = config.visionEndTokenID else {
            throw OmniError.config(file: "config.json", keyPath: "thinker_config.vision_start_token_id",
                                   expected: "vision start and end ids (needed to place a video)", actual: "missing")
        }
        let span = OmniProcessor.interleaved(config: config, mergeSize: config.vision.spatialMergeSize, grid: grid(config.vision),
                                             secondsPerGrid: 1, audioTokens: AudioEncoder.tokens(frames: audioFrames))
        return Array(repeating: textID, count: textBefore) + [vbos, config.audioStartTokenID] + span
            + [config.audioEndTokenID, veos] + Array(repeating: textID, count: textAfter)
    }

    /// What fills the placeholders, for `RopeIndex`.
    public func media(_ config: ThinkerConfig) -> RopeIndex.Media {
        RopeIndex.Media(videoGrids: [grid(config.vision)], secondsPerGrid: [1], audioFrames: [audioFrames], useAudioInVideo: true)
    }

    /// The processor outputs: `ids(config:textID:)`, random `pixel_values_videos` [t·h·w, C·T·P·P] and
    /// `input_features` [1, melBins, frames] in [−1, 1), a full `feature_attention_mask`, `video_grid_thw`,
    /// `video_second_per_grid` 1.0 and `useAudioInVideo`.
    public func input(config: ThinkerConfig, textID: Int = 1, seed: UInt64 = 1) throws -> ThinkerInput {
        let ids = try ids(config: config, textID: textID)
        let v = config.vision, g = grid(v), frames = audioFrames
        var rng = SplitMix64(seed: seed)
        func noise(_ n: Int) -> [Float] { (0..<n).map { _ in Float(rng.nextUnit() * 2 - 1) } }
        let row = v.inChannels * v.temporalPatchSize * v.patchSize * v.patchSize
        var input = ThinkerInput(ids: ids, audioFeatures: Tensor(noise(config.audio.melBins * frames), shape: [1, config.audio.melBins, frames]),
                                 audioMask: Tensor(int64: Array(repeating: 1, count: frames), shape: [1, frames]))
        input.pixelValuesVideos = Tensor(noise(g.patches * row), shape: [g.patches, row])
        input.videoGrids = [g]
        input.secondsPerGrid = [1]
        input.useAudioInVideo = true
        return input
    }
}
