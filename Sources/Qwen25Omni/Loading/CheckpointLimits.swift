import OmniCore

/// Limits the checkpoint itself sets, checked against the config before any graph is built or buffer
/// allocated: a `config.json` claiming 1000000000 layers is an error naming the key and the count the
/// checkpoint has, not a model that grows until memory runs out; a planned input longer than the model's
/// positions is an error naming the argument and `max_position_embeddings`.
public enum CheckpointLimits {
    /// One layered stack: the config key that counts its layers and the checkpoint prefix they live under.
    struct Stack {
        var keyPath: String
        var configured: Int
        var prefixes: [String]
    }

    /// Layer counts of every stack the config describes, against the layers present in `names` (the
    /// checkpoint's tensor keys). Stacks with no tensors at all are not checked here (a text-only export has no
    /// audio tower; strict loading reports missing keys for what is built).
    public static func check(config: OmniConfig, names: [String], file: String = "config.json") throws {
        let root = config.isThinkerOnly ? "" : "thinker_config."
        var stacks = [
            Stack(keyPath: root + "text_config.num_hidden_layers", configured: config.thinker.text.layers,
                  prefixes: ["thinker.model.layers.", "model.layers."]),
            Stack(keyPath: root + "audio_config.encoder_layers", configured: config.thinker.audio.layers,
                  prefixes: ["thinker.audio_tower.layers.", "audio_tower.layers."]),
            Stack(keyPath: root + "vision_config.depth", configured: config.thinker.vision.depth,
                  prefixes: ["thinker.visual.blocks.", "visual.blocks."]),
        ]
        if let talker = config.talker {
            stacks.append(Stack(keyPath: "talker_config.num_hidden_layers", configured: talker.layers,
                                prefixes: ["talker.model.layers."]))
        }
        for stack in stacks {
            guard let present = layerCount(names, prefixes: stack.prefixes) else { continue }
            guard stack.configured == present else {
                throw OmniError.config(file: file, keyPath: stack.keyPath,
                                       expected: "\(present), the layers the checkpoint has (\(stack.prefixes[0])0 … \(present - 1))",
                                       actual: "\(stack.configured)")
            }
        }
    }

    /// One more than the largest layer index under `prefixes`, or nil when no key is under them.
    static func layerCount(_ names: [String], prefixes: [String]) -> Int? {
        var largest = -1
        for name in names {
            guard let prefix = prefixes.first(where: { name.hasPrefix($0) }) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let index = Int(rest.prefix { $0.isASCII && $0.isNumber }), index >= 0 else { continue }
            largest = max(largest, index)
        }
        return largest >= 0 ? largest + 1 : nil
    }

    /// Throws unless the prompt and the tokens to generate fit the thinker's positions
    /// (`max_position_embeddings`), naming `argument` (`--max-new-tokens`, `maxNewTokens`) and the range. For a
    /// text prompt, whose positions are 0 ..< T.
    public static func checkPositions(promptTokens: Int, maxNewTokens: Int, config: OmniConfig,
                                      argument: String = "maxNewTokens") throws {
        let positions = config.thinker.text.maxPositionEmbeddings
        guard promptTokens >= 0, promptTokens <= positions else {
            throw OmniError.invalidArgument(name: "prompt length",
                                            expected: "0 … \(positions) tokens (max_position_embeddings)",
                                            actual: "\(promptTokens)")
        }
        try checkPositions(largestPosition: promptTokens - 1, maxNewTokens: maxNewTokens, config: config, argument: argument)
    }

    /// Throws unless a prompt whose largest M-RoPE position id is `largestPosition` (−1: empty), and the tokens
    /// generated after it, fit the thinker's positions. With M-RoPE a video's tokens share temporal, height and width
    /// indices (a second of video is 25 temporal steps however many tokens its frames make), so what
    /// `max_position_embeddings` bounds is the largest position id, not the token count (transformers checks neither;
    /// its rotary tables take any position). A prompt beyond it is an error naming `promptName`; new tokens beyond
    /// what is left, one naming `argument`.
    public static func checkPositions(largestPosition: Int, maxNewTokens: Int, config: OmniConfig,
                                      argument: String = "maxNewTokens", promptName: String = "position_ids") throws {
        let positions = config.thinker.text.maxPositionEmbeddings
        guard largestPosition >= -1, largestPosition < positions else {
            throw OmniError.invalidArgument(name: promptName,
                expected: "a largest M-RoPE position id below \(positions) (max_position_embeddings)",
                actual: "\(largestPosition)")
        }
        let room = positions - 1 - largestPosition
        guard maxNewTokens >= 0, maxNewTokens <= room else {
            throw OmniError.invalidArgument(name: argument,
                expected: "0 … \(room) (max_position_embeddings \(positions) less the prompt's positions 0 … \(largestPosition))",
                actual: "\(maxNewTokens)")
        }
    }

    /// The largest of a prompt's [3][T] M-RoPE position ids (−1 for an empty prompt).
    public static func largestPosition(_ positions: [[Int64]]) -> Int {
        Int(clamping: positions.lazy.compactMap { $0.max() }.max() ?? -1)
    }
}
