// Mirrors the Qwen2.5-Omni hub `chat_template.jinja` (OMNI-SPEC §6.4).

/// Renders a conversation into the prompt text the thinker is trained on.
///
///     <|im_start|>system\nYou are a helpful assistant.<|im_end|>\n     (only if the first turn is not system)
///     <|im_start|>{role}\n{content items, no separators}<|im_end|>\n   (each message)
///     <|im_start|>assistant\n                                          (with addGenerationPrompt)
public struct ChatTemplate: Sendable {
    /// The system prompt inserted when the conversation does not start with a system message.
    public static let defaultSystemPrompt = "You are a helpful assistant."
    /// The system prompt Qwen requires for speech output.
    public static let speechSystemPrompt = "You are Qwen, a virtual human developed by the Qwen Team, Alibaba Group, "
        + "capable of perceiving auditory and visual inputs, as well as generating text and speech."

    /// Prefix images with `Picture N: ` and videos with `Video N: ` (counted from 1 over the conversation).
    public var addVisionID: Bool
    /// Prefix audio items with `Audio N: ` (counted from 1 over the conversation).
    public var addAudioID: Bool

    /// A template; both numbering options default to off, as in the hub template.
    public init(addVisionID: Bool = false, addAudioID: Bool = false) {
        self.addVisionID = addVisionID
        self.addAudioID = addAudioID
    }

    /// The prompt text for `messages`, ending with `<|im_start|>assistant\n` when `addGenerationPrompt`.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        if messages.first?.role != "system" {
            out += "<|im_start|>system\n\(Self.defaultSystemPrompt)<|im_end|>\n"
        }
        var images = 0, audios = 0, videos = 0
        for message in messages {
            out += "<|im_start|>\(message.role)\n"
            for item in message.content {
                switch item {
                case let .text(text):
                    out += text
                case .image:
                    images += 1
                    if addVisionID { out += "Picture \(images): " }
                    out += "<|vision_bos|><|IMAGE|><|vision_eos|>"
                case .audio:
                    audios += 1
                    if addAudioID { out += "Audio \(audios): " }
                    out += "<|audio_bos|><|AUDIO|><|audio_eos|>"
                case .video:
                    videos += 1
                    if addVisionID { out += "Video \(videos): " }
                    out += "<|vision_bos|><|VIDEO|><|vision_eos|>"
                }
            }
            out += "<|im_end|>\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}
