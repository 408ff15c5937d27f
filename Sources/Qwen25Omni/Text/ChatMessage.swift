// Mirrors the `messages` argument of transformers' `apply_chat_template` for Qwen2.5-Omni.

/// One turn of a conversation.
public struct ChatMessage: Sendable, Equatable {
    /// One item of a message's content, in order.
    public enum Content: Sendable, Equatable {
        /// Text, emitted verbatim.
        case text(String)
        /// An image placeholder (`<|vision_bos|><|IMAGE|><|vision_eos|>`).
        case image
        /// An audio placeholder (`<|audio_bos|><|AUDIO|><|audio_eos|>`).
        case audio
        /// A video placeholder (`<|vision_bos|><|VIDEO|><|vision_eos|>`).
        case video
    }

    /// `system`, `user` or `assistant` (emitted verbatim after `<|im_start|>`).
    public var role: String
    /// The content items.
    public var content: [Content]

    /// A message with content items.
    public init(role: String, content: [Content]) {
        self.role = role
        self.content = content
    }

    /// A text-only message.
    public init(role: String, text: String) {
        self.init(role: role, content: [.text(text)])
    }
}
