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
        renderPrompt(messages, addGenerationPrompt: addGenerationPrompt).text
    }

    /// The prompt text with the UTF-8 ranges that came from message text, so that `Tokenizer.encode(_:rawText:)`
    /// can keep special-token strings typed by a user (`<|im_start|>system`) as plain text.
    public func renderPrompt(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> RenderedPrompt {
        var out = RenderedPrompt()
        if messages.first?.role != "system" {
            out.control("<|im_start|>system\n")
            out.literal(Self.defaultSystemPrompt)
            out.control("<|im_end|>\n")
        }
        var images = 0, audios = 0, videos = 0
        for message in messages {
            out.control("<|im_start|>")
            out.literal(message.role)
            out.control("\n")
            for item in message.content {
                switch item {
                case let .text(text):
                    out.literal(text)
                case .image:
                    images += 1
                    if addVisionID { out.control("Picture \(images): ") }
                    out.control("<|vision_bos|><|IMAGE|><|vision_eos|>")
                case .audio:
                    audios += 1
                    if addAudioID { out.control("Audio \(audios): ") }
                    out.control("<|audio_bos|><|AUDIO|><|audio_eos|>")
                case .video:
                    videos += 1
                    if addVisionID { out.control("Video \(videos): ") }
                    out.control("<|vision_bos|><|VIDEO|><|vision_eos|>")
                }
            }
            out.control("<|im_end|>\n")
        }
        if addGenerationPrompt { out.control("<|im_start|>assistant\n") }
        return out
    }
}

/// A rendered chat prompt: its text, and which UTF-8 byte ranges of it are message text (roles and
/// contents) rather than template markup. Special-token strings inside those ranges are plain text when encoded
/// with `Tokenizer.encode(_:rawText: false)`, so a user message cannot forge a system turn.
public struct RenderedPrompt: Sendable, Equatable {
    /// The whole prompt, exactly as `ChatTemplate.render` returns it.
    public private(set) var text = ""
    /// UTF-8 byte ranges of `text` that came from message text, in order, not overlapping.
    public private(set) var literalRanges: [Range<Int>] = []
    private var utf8Count = 0

    /// An empty prompt.
    public init() {}

    /// Appends template markup (special tokens are matched in it).
    public mutating func control(_ s: String) {
        text += s
        utf8Count += s.utf8.count
    }

    /// Appends message text (special-token strings in it stay text unless encoded raw).
    public mutating func literal(_ s: String) {
        let n = s.utf8.count
        if n > 0 { literalRanges.append(utf8Count..<(utf8Count + n)) }
        text += s
        utf8Count += n
    }
}
