import OmniCore

/// What the processor hands the thinker: token ids with their placeholders already expanded, and the features
/// that fill those placeholders (audio today; images and video come with the vision tower).
public struct ThinkerInput: Sendable {
    /// Prompt ids; each `<|AUDIO|>` stands for one audio-tower output row.
    public var ids: [Int]
    /// Whisper log-mel `input_features` [B, melBins, F] (or [melBins, F]), f32.
    public var audioFeatures: Tensor?
    /// `feature_attention_mask` [B, F] (or [F]): ones over each audio's valid frames, then zeros.
    public var audioMask: Tensor?
    /// `pixel_values` [patches, C·T·P·P] of every image and their `image_grid_thw`.
    public var pixelValues: Tensor?
    public var imageGrids: [VisionEncoder.Grid] = []
    /// `pixel_values_videos` of every video, their `video_grid_thw` and `video_second_per_grid`.
    public var pixelValuesVideos: Tensor?
    public var videoGrids: [VisionEncoder.Grid] = []
    public var secondsPerGrid: [Double] = []
    /// Videos carry their audio track (the i-th audio) interleaved with their frames.
    public var useAudioInVideo = false

    public init(ids: [Int], audioFeatures: Tensor? = nil, audioMask: Tensor? = nil) {
        self.ids = ids
        self.audioFeatures = audioFeatures
        self.audioMask = audioMask
    }

    /// Whether any placeholder features are present (the prompt then runs from embeddings with 3-D positions).
    public var hasFeatures: Bool { audioFeatures != nil || pixelValues != nil || pixelValuesVideos != nil }
}
