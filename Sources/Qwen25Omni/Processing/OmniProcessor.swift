import Foundation
import OmniCore

/// `Qwen2_5OmniProcessor` (OMNI-SPEC §6): renders the chat template, computes Whisper features for the audios
/// and patches for the images and videos, and expands each `<|AUDIO|>`, `<|IMAGE|>` and `<|VIDEO|>` into as many
/// placeholders as its tower will produce. With `useAudioInVideo`, each video's audio track (the next waveform in
/// placeholder order) is interleaved with its frames in 2-second chunks.
public struct OmniProcessor: Sendable {
    /// The checkpoint tokenizer.
    public let tokenizer: Tokenizer
    /// nil when the checkpoint has no feature-extractor config (a text-only export); audio input is then an error.
    public let audio: WhisperFeatureExtractor?
    /// Image and video preprocessing.
    public var vision: VisionProcessor
    /// Placeholder ids.
    public let audioTokenID: Int, imageTokenID: Int, videoTokenID: Int
    /// The thinker config (special ids and the time scale of audio-in-video interleaving).
    public let config: ThinkerConfig
    /// The chat template (default system prompt, `add_audio_id` / `add_vision_id`).
    public var template: ChatTemplate
    /// Runs the feature extractor's STFT graph (nil: the Float64 FFT path, slower).
    public var executor: (any GraphExecutor)?

    /// A processor from its parts (see `init(directory:config:executor:)` for a model folder).
    public init(tokenizer: Tokenizer, config: ThinkerConfig, audio: WhisperFeatureExtractor?, vision: VisionProcessor = VisionProcessor(),
                template: ChatTemplate = ChatTemplate(), executor: (any GraphExecutor)? = nil) {
        self.tokenizer = tokenizer
        self.audio = audio
        self.vision = vision
        self.audioTokenID = config.audioTokenID
        self.imageTokenID = config.imageTokenID
        self.videoTokenID = config.videoTokenID
        self.config = config
        self.template = template
        self.executor = executor
    }

    /// The processor a model folder configures (tokenizer, `processor_config.json` or `preprocessor_config.json`).
    public init(directory: URL, config: ThinkerConfig, executor: (any GraphExecutor)? = nil) throws {
        self.init(tokenizer: try Tokenizer(directory: directory.path), config: config,
                  audio: try WhisperFeatureExtractor.ifConfigured(directory: directory), vision: try VisionProcessor(directory: directory),
                  executor: executor)
    }

    /// Processor outputs for a conversation whose `.audio`, `.image` and `.video` items take `waveforms` (16 kHz
    /// mono), `images` and `videos` (frames sampled at `fps`, or at `videoFPS[i]` for video i when given, as
    /// transformers' `fps` list) in order. Message text is text: special-token strings in it stay plain text
    /// unless `rawText` (transformers' behaviour, for already-templated input).
    public func callAsFunction(_ messages: [ChatMessage], waveforms: [[Float]] = [], images: [RGBImage] = [],
                               videos: [[RGBImage]] = [], fps: Double = 2, videoFPS: [Double] = [], useAudioInVideo: Bool = false,
                               addGenerationPrompt: Bool = true, rawText: Bool = false) throws -> ThinkerInput {
        let ids = tokenizer.encode(template.renderPrompt(messages, addGenerationPrompt: addGenerationPrompt), rawText: rawText)
        return try expand(ids: ids, waveforms: waveforms, images: images, videos: videos, fps: fps, videoFPS: videoFPS,
                          useAudioInVideo: useAudioInVideo)
    }

    /// Replaces the i-th placeholder of each kind in `ids` by the token count of the i-th item of that kind and
    /// attaches the features.
    public func expand(ids: [Int], waveforms: [[Float]] = [], images: [RGBImage] = [], videos: [[RGBImage]] = [],
                       fps: Double = 2, videoFPS: [Double] = [], useAudioInVideo: Bool = false) throws -> ThinkerInput {
        func check(_ id: Int, _ count: Int, _ what: String, _ placeholder: String) throws {
            let slots = ids.filter { $0 == id }.count
            guard slots == count else {
                throw OmniError.invalidArgument(name: what, expected: "\(slots) item(s), one per \(placeholder) in the prompt", actual: "\(count)")
            }
        }
        if useAudioInVideo {
            let slots = ids.filter { $0 == audioTokenID || $0 == videoTokenID }.count
            guard slots == waveforms.count else {
                throw OmniError.invalidArgument(name: "audio", expected: "\(slots) waveform(s), one per <|AUDIO|> and one per <|VIDEO|> (its audio track)",
                                                actual: "\(waveforms.count)")
            }
        } else {
            try check(audioTokenID, waveforms.count, "audio", "<|AUDIO|>")
        }
        try check(imageTokenID, images.count, "images", "<|IMAGE|>")
        try check(videoTokenID, videos.count, "videos", "<|VIDEO|>")
        guard fps > 0, fps.isFinite else { throw OmniError.invalidArgument(name: "fps", expected: "a positive frame rate", actual: "\(fps)") }
        guard videoFPS.isEmpty || (videoFPS.count == videos.count && videoFPS.allSatisfy { $0 > 0 && $0.isFinite }) else {
            throw OmniError.invalidArgument(name: "videoFPS", expected: "one positive rate per video (\(videos.count))", actual: "\(videoFPS)")
        }
        var input = ThinkerInput(ids: ids)
        var audioCounts: [Int] = [], imageCounts: [Int] = [], videoCounts: [Int] = []
        if !waveforms.isEmpty {
            guard let audio else {
                throw OmniError.unsupported(what: "audio input", reasons: ["the checkpoint has no feature extractor config (processor_config.json or preprocessor_config.json)"])
            }
            audioCounts = waveforms.map { AudioEncoder.tokens(frames: audio.validFrames(samples: $0.count)) }
            if let i = audioCounts.firstIndex(where: { $0 < 1 }) {
                throw OmniError.invalidArgument(name: "audio[\(i)]", expected: "at least \(2 * audio.hopLength + 1) samples (one audio token)",
                                                actual: "\(waveforms[i].count)")
            }
            (input.audioFeatures, input.audioMask) = try audio(waveforms, executor: executor)
        }
        let unit = vision.mergeSize * vision.mergeSize
        if !images.isEmpty {
            let (pixels, grids) = try vision.images(images)
            input.pixelValues = pixels
            input.imageGrids = grids
            imageCounts = grids.map { $0.patches / unit }
        }
        if !videos.isEmpty {
            var rows: [Float] = []
            for (i, frames) in videos.enumerated() {
                do {
                    let (pixels, grid) = try vision.video(frames)
                    rows += try pixels.floats()
                    input.videoGrids.append(grid)
                    videoCounts.append(grid.patches / unit)
                } catch let error as OmniError {
                    throw OmniError.invalidArgument(name: "videos[\(i)]", expected: "frames the video processor accepts", actual: "\(error)")
                }
            }
            input.pixelValuesVideos = Tensor(rows, shape: [rows.count / vision.rowWidth, vision.rowWidth])
            input.secondsPerGrid = (videoFPS.isEmpty ? Array(repeating: fps, count: videos.count) : videoFPS)
                .map { Double(vision.temporalPatchSize) / $0 }
        }
        var out: [Int] = [], next = [audioTokenID: 0, imageTokenID: 0, videoTokenID: 0], audioNext = 0
        let counts = [audioTokenID: audioCounts, imageTokenID: imageCounts, videoTokenID: videoCounts]
        for (i, id) in ids.enumerated() {
            if useAudioInVideo && id == videoTokenID {
                // <|vision_bos|><|VIDEO|><|vision_eos|> → <|vision_bos|><|audio_bos|> chunks <|audio_eos|><|vision_eos|>.
                guard i > 0, i + 1 < ids.count, let vb = config.visionStartTokenID, let ve = config.visionEndTokenID,
                      ids[i - 1] == vb, ids[i + 1] == ve else {
                    throw OmniError.invalidArgument(name: "videos", expected: "each <|VIDEO|> between <|vision_bos|> and <|vision_eos|> for use_audio_in_video",
                                                    actual: "token \(i)")
                }
                let v = next[videoTokenID]!
                out += [config.audioStartTokenID] + interleaved(grid: input.videoGrids[v], secondsPerGrid: input.secondsPerGrid[v],
                                                                audioTokens: audioCounts[audioNext]) + [config.audioEndTokenID]
                next[videoTokenID]! += 1
                audioNext += 1
            } else if let c = counts[id] {
                let k = id == audioTokenID ? audioNext : next[id]!
                out += Array(repeating: id, count: c[k])
                if id == audioTokenID { audioNext += 1 } else { next[id]! += 1 }
            } else {
                out.append(id)
            }
        }
        input.ids = out
        input.useAudioInVideo = useAudioInVideo
        return input
    }
}

extension OmniProcessor {
    /// A video's placeholders interleaved with its audio track's in chunks of `position_id_per_seconds ·
    /// seconds_per_chunk` time units (OMNI-SPEC §6.4): video chunk j, then audio chunk j.
    func interleaved(grid: VisionEncoder.Grid, secondsPerGrid: Double, audioTokens: Int) -> [Int] {
        Self.interleaved(config: config, mergeSize: vision.mergeSize, grid: grid, secondsPerGrid: secondsPerGrid,
                         audioTokens: audioTokens)
    }

    /// The interleaving for `config`'s placeholder ids and time scale, with `mergeSize`×`mergeSize` patches a token.
    static func interleaved(config: ThinkerConfig, mergeSize m: Int, grid: VisionEncoder.Grid, secondsPerGrid: Double,
                            audioTokens: Int) -> [Int] {
        let pps = config.positionIDPerSeconds
        let perFrame = (grid.h / m) * (grid.w / m), per = Int64(pps * config.secondsPerChunk)
        let videoT = RopeIndex.videoTimes(grid.t, secondsPerGrid: secondsPerGrid, pps: pps).flatMap { Array(repeating: $0, count: perFrame) }
        let vc = RopeIndex.chunks(videoT, per: per).map(\.count)
        let ac = RopeIndex.chunks((0..<Int64(audioTokens)).map { $0 }, per: per).map(\.count)
        var ids: [Int] = []
        for j in 0..<max(vc.count, ac.count) {
            if j < vc.count { ids += Array(repeating: config.videoTokenID, count: vc[j]) }
            if j < ac.count { ids += Array(repeating: config.audioTokenID, count: ac[j]) }
        }
        return ids
    }
}

extension OmniModel {
    /// The processor for this checkpoint (its tokenizer, processor config and placeholder ids), running the
    /// feature extractor's graph on this model's executor.
    public func processor() throws -> OmniProcessor {
        OmniProcessor(tokenizer: tokenizer, config: config.thinker,
                      audio: try WhisperFeatureExtractor.ifConfigured(directory: directory.folder),
                      vision: try VisionProcessor(directory: directory.folder), executor: executor)
    }
}
