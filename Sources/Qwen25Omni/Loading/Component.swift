/// The five parts of Qwen2.5-Omni, as checkpoint prefixes name them.
public enum Component: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case thinker, audioTower = "audio_tower", visionTower = "vision_tower", talker, token2wav

    /// The component a checkpoint key belongs to, or nil for keys outside the model.
    public init?(key: String) {
        if key.hasPrefix("thinker.audio_tower.") { self = .audioTower }
        else if key.hasPrefix("thinker.visual.") { self = .visionTower }
        else if key.hasPrefix("thinker.") { self = .thinker }
        else if key.hasPrefix("talker.") { self = .talker }
        else if key.hasPrefix("token2wav.") { self = .token2wav }
        else { return nil }
    }

    public var description: String { rawValue }
}
