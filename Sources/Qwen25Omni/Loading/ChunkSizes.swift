import OmniCore

/// How long inputs are cut so that activations stay bounded (issue 14): prompt rows per prefill chunk, native
/// audio windows per audio-tower run, temporal patches (t-slices) per vision-tower run. Every chunking gives the
/// one-shot result; only memory and speed change.
///
/// As a plan's answer, nil runs the whole input at once. As a request (`LoadOptions.chunks`, the CLI's
/// `--prefill-chunk`, `--audio-windows`, `--vision-slices`), a value is kept as given and nil is left to the planner.
public struct ChunkSizes: Sendable, Hashable, CustomStringConvertible {
    /// Prompt rows per prefill step (`GenerationOptions.prefillChunk`).
    public var prefillChunk: Int?
    /// Native windows (2·n_window mel frames) per audio-tower run (`OmniModel.audioWindowsPerRun`).
    public var audioWindows: Int?
    /// t-slices per vision-tower run (`OmniModel.visionSlicesPerRun`).
    public var visionSlices: Int?

    /// Creates chunk sizes (nil: whole input, or left to the planner in a request).
    public init(prefillChunk: Int? = nil, audioWindows: Int? = nil, visionSlices: Int? = nil) {
        self.prefillChunk = prefillChunk
        self.audioWindows = audioWindows
        self.visionSlices = visionSlices
    }

    /// `prefill 512 rows, audio 4 windows, vision one run`.
    public var description: String {
        "prefill " + (prefillChunk.map { "\($0) rows" } ?? "one step") + ", audio " + (audioWindows.map { "\($0) windows" } ?? "one run")
            + ", vision " + (visionSlices.map { "\($0) t-slices" } ?? "one run")
    }
}

/// The runs the thinker side makes for one input, in the units its graphs take: prompt rows, mel frames of each
/// audio, patch grids of the images and videos. Made from an `InputSize` (for `omni plan`) or from the processor's
/// real `ThinkerInput` (for generation), so the planner builds the same graphs generation will run.
public struct Workload: Sendable, Hashable {
    /// Prompt rows after placeholder expansion.
    public var promptTokens: Int
    /// Tokens to generate (the KV cache holds prompt + new).
    public var newTokens: Int
    /// Valid mel frames of every audio.
    public var audioFrames: [Int]
    /// Image grids (one vision-tower call for all images).
    public var imageGrids: [VisionEncoder.Grid]
    /// Video grids (one vision-tower call for all videos).
    public var videoGrids: [VisionEncoder.Grid]
    /// The prompt's largest M-RoPE position id, which `max_position_embeddings` bounds (nil: `promptTokens − 1`,
    /// a text prompt's). Videos make it far smaller than the row count.
    public var largestPosition: Int?

    /// A workload from its parts.
    public init(promptTokens: Int, newTokens: Int, audioFrames: [Int] = [], imageGrids: [VisionEncoder.Grid] = [],
                videoGrids: [VisionEncoder.Grid] = [], largestPosition: Int? = nil) {
        self.promptTokens = promptTokens
        self.newTokens = newTokens
        self.audioFrames = audioFrames
        self.imageGrids = imageGrids
        self.videoGrids = videoGrids
        self.largestPosition = largestPosition
    }

    /// The workload an `InputSize` stands for: one audio of `audioSeconds` × 100 frames, one image grid of
    /// `imagePixels` and one video grid of one t-slice per second of `videoFramePixels` frames (both as close to
    /// square as whole 2×2 merge units allow). The largest position is that of the prompt laid out as text, audio,
    /// image, video (each span between its bos/eos), with `positionIDPerSeconds` temporal steps per t-slice of video
    /// (`thinker_config.position_id_per_seconds`; a t-slice is one second at 2 fps).
    public init(_ input: InputSize, vision: VisionConfig, positionIDPerSeconds: Int = 25) {
        promptTokens = input.promptTokens
        newTokens = input.maxNewTokens
        let frames = Checked(exactly: input.audioSeconds * 100).saturated
        audioFrames = frames > 0 ? [frames] : []
        let p = (Checked(vision.patchSize) * vision.patchSize).value ?? 0, m = vision.spatialMergeSize
        func grid(t: Int, pixels: Int) -> [VisionEncoder.Grid] {
            guard p > 0, m > 0, m < 1 << 16 else { return [] }
            let units = pixels / p / (m * m)
            guard t > 0, units > 0 else { return [] }
            // Past 2^32 merge units no grid is plannable (the planner refuses it); skip the divisor search.
            guard units <= 1 << 32 else { return [VisionEncoder.Grid(t: t, h: Int.max / 2, w: Int.max / 2)] }
            var side = Int(Double(units).squareRoot())
            while side > 1 && units % side != 0 { side -= 1 }
            return [VisionEncoder.Grid(t: t, h: side * m, w: units / side * m)]
        }
        imageGrids = grid(t: 1, pixels: input.imagePixels)
        videoGrids = grid(t: input.videoGroups, pixels: input.videoFramePixels)
        // Text and audio advance one position a token; an image or video spans its largest (t, h, w) index.
        func span(_ g: VisionEncoder.Grid, pps: Int) -> Checked {
            let side = max(1, m), tSpan = (Checked(max(0, g.t - 1)) * max(0, pps)) + 1
            return Checked(max((tSpan.value ?? Int.max), g.h / side, g.w / side)) + 2
        }
        var last = Checked(input.textTokens) + input.checkedAudioTokens
        for g in imageGrids { last = last + span(g, pps: 0) }
        for g in videoGrids { last = last + span(g, pps: positionIDPerSeconds) }
        largestPosition = (last - 1).saturated
    }

    /// The workload of a processed input: its prompt rows, each audio's valid frames (`feature_attention_mask`)
    /// and its grids.
    public init(_ input: ThinkerInput, newTokens: Int) throws {
        promptTokens = input.ids.count
        self.newTokens = newTokens
        audioFrames = []
        if let mask = input.audioMask {
            let m = try mask.int64s(), frames = mask.shape[mask.shape.rank - 1]
            guard m.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw OmniError.invalidArgument(name: "feature_attention_mask", expected: "zeros and ones", actual: "other values")
            }
            audioFrames = stride(from: 0, to: m.count, by: max(frames, 1)).map { Int(m[$0..<min(m.count, $0 + frames)].reduce(0, +)) }
        }
        imageGrids = input.pixelValues == nil ? [] : input.imageGrids
        videoGrids = input.pixelValuesVideos == nil ? [] : input.videoGrids
        // The grids are sized against the pixels they describe before any graph is built for them.
        for (name, grids, pixels) in [("image_grid_thw", imageGrids, input.pixelValues), ("video_grid_thw", videoGrids, input.pixelValuesVideos)] {
            guard let rows = pixels?.shape.dims.first else { continue }
            let patches = Checked.sum(grids.map { g in g.t < 0 || g.h < 0 || g.w < 0 ? Int.max : (Checked(g.t) * g.h * g.w).value ?? Int.max })
            guard patches.value == rows else {
                throw OmniError.invalidArgument(name: name, expected: "grids whose t·h·w sum to the \(rows) patch rows of the pixels",
                                                actual: patches.value.map { "\($0) patches" } ?? "an overflowing patch count")
            }
        }
    }

    /// Whether the prompt runs from embeddings (any media), as generation does.
    public var hasMedia: Bool { !audioFrames.isEmpty || !imageGrids.isEmpty || !videoGrids.isEmpty }
}
