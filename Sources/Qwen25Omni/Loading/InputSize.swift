import OmniCore

/// The input a plan budgets for: prompt text and media sizes, and how many tokens will be generated.
public struct InputSize: Sendable, Hashable {
    /// Text tokens of the prompt, chat template and system prompt included.
    public var textTokens: Int
    /// Seconds of audio input.
    public var audioSeconds: Double
    /// Seconds of video input (sampled at 2 fps, as qwen-omni-utils does).
    public var videoSeconds: Double
    /// Pixels per video frame after resizing (the Omni processor caps frames at 602112 = 768 merged tokens).
    public var videoFramePixels: Int
    /// Pixels over all images after resizing.
    public var imagePixels: Int
    /// Tokens to generate.
    public var maxNewTokens: Int
    /// Codec codes the talker may generate (`talker_max_new_tokens`); nil: `talkerCodes`' estimate.
    public var talkerMaxNewTokens: Int?
    /// Sessions of this size decoding at once in batched steps (`omni plan --batch`, `LoadOptions.maxBatch`): the
    /// thinker KV cache is planned for all of them, and the batched decode step's activations for that many rows.
    public var sessions: Int = 1

    /// Creates an input size.
    public init(textTokens: Int = 256, audioSeconds: Double = 0, videoSeconds: Double = 0,
                videoFramePixels: Int = 602_112, imagePixels: Int = 0, maxNewTokens: Int = 256,
                talkerMaxNewTokens: Int? = nil) {
        self.textTokens = textTokens
        self.audioSeconds = audioSeconds
        self.videoSeconds = videoSeconds
        self.videoFramePixels = videoFramePixels
        self.imagePixels = imagePixels
        self.maxNewTokens = maxNewTokens
        self.talkerMaxNewTokens = talkerMaxNewTokens
    }

    /// Codes the talker's KV cache and token2wav are planned for: `talkerMaxNewTokens`, or else ≈ 16 codes per
    /// reply token (50 codes per second of speech) up to the reference's default maximum of 4096.
    public var talkerCodes: Int { talkerMaxNewTokens ?? (maxNewTokens >= 256 ? 4096 : 16 * max(0, maxNewTokens)) }
    /// Rows the talker's KV cache holds: the prompt, the speaker BOS and first reply row, then one per code.
    public var talkerTokens: Int { (checkedPromptTokens + 2 + talkerCodes).saturated }

    /// Audio placeholder tokens: 100 mel frames/s, halved by conv2 and again by pooling → 25/s, plus bos/eos.
    /// Every derived count is computed with `Checked`: a count that overflows `Int` reads as `Int.max` (and
    /// `validate()` rejects it), never a trap.
    public var audioTokens: Int { checkedAudioTokens.saturated }
    /// Image tokens: one per 28×28 pixels (14×14 patches merged 2×2), plus vision bos/eos.
    public var imageTokens: Int { imagePixels > 0 ? imagePixels / 784 + 2 : 0 }
    /// Video temporal groups: 2 fps, 2 frames per group → one per second.
    public var videoGroups: Int { Checked(exactly: videoSeconds).saturated }
    /// Video tokens: groups × frame pixels / 784, plus vision bos/eos.
    public var videoTokens: Int { checkedVideoTokens.saturated }
    /// Prompt length after placeholder expansion.
    public var promptTokens: Int { checkedPromptTokens.saturated }
    /// Patch rows the vision tower sees (14×14 patches, 2 frames per temporal patch).
    public var visionPatches: Int { (Checked(imagePixels / 196) + Checked(videoGroups) * (videoFramePixels / 196)).saturated }

    var checkedAudioTokens: Checked { audioSeconds > 0 ? Checked(exactly: audioSeconds * 25) + 2 : 0 }
    var checkedVideoTokens: Checked {
        videoSeconds > 0 ? Checked(exactly: videoSeconds) * (videoFramePixels / 784) + 2 : 0
    }
    var checkedPromptTokens: Checked { Checked(textTokens) + checkedAudioTokens + imageTokens + checkedVideoTokens }

    /// Throws `OmniError.invalidArgument` naming the field and its range unless every count is non-negative,
    /// every duration finite, and the expanded prompt plus the new tokens fits in `Int`.
    public func validate() throws {
        for (v, name) in [(textTokens, "textTokens"), (imagePixels, "imagePixels"), (videoFramePixels, "videoFramePixels"),
                          (maxNewTokens, "maxNewTokens")] where v < 0 {
            throw OmniError.invalidArgument(name: name, expected: "an integer ≥ 0", actual: "\(v)")
        }
        for (v, name) in [(audioSeconds, "audioSeconds"), (videoSeconds, "videoSeconds")] where !(v >= 0 && v <= 1e9) {
            throw OmniError.invalidArgument(name: name, expected: "finite seconds in 0 … 1e9", actual: "\(v)")
        }
        guard (1...256).contains(sessions) else {
            throw OmniError.invalidArgument(name: "sessions", expected: "1 … 256 sessions", actual: "\(sessions)")
        }
        _ = try (checkedPromptTokens + maxNewTokens).get(or: .invalidArgument(
            name: "input size", expected: "a prompt plus new tokens that fits in Int", actual: "overflow"))
    }
}
