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
    public var talkerCodes: Int { talkerMaxNewTokens ?? min(4096, 16 * maxNewTokens) }
    /// Rows the talker's KV cache holds: the prompt, the speaker BOS and first reply row, then one per code.
    public var talkerTokens: Int { promptTokens + 2 + talkerCodes }

    /// Audio placeholder tokens: 100 mel frames/s, halved by conv2 and again by pooling → 25/s, plus bos/eos.
    public var audioTokens: Int { audioSeconds > 0 ? Int((audioSeconds * 25).rounded(.up)) + 2 : 0 }
    /// Image tokens: one per 28×28 pixels (14×14 patches merged 2×2), plus vision bos/eos.
    public var imageTokens: Int { imagePixels > 0 ? imagePixels / 784 + 2 : 0 }
    /// Video temporal groups: 2 fps, 2 frames per group → one per second.
    public var videoGroups: Int { Int(videoSeconds.rounded(.up)) }
    /// Video tokens: groups × frame pixels / 784, plus vision bos/eos.
    public var videoTokens: Int { videoGroups > 0 ? videoGroups * (videoFramePixels / 784) + 2 : 0 }
    /// Prompt length after placeholder expansion.
    public var promptTokens: Int { textTokens + audioTokens + imageTokens + videoTokens }
    /// Patch rows the vision tower sees (14×14 patches, 2 frames per temporal patch).
    public var visionPatches: Int { imagePixels / 196 + videoGroups * (videoFramePixels / 196) }
}
