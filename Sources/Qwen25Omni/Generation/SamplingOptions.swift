// Mirrors the sampling fields of transformers' GenerationConfig.

/// How the next token is chosen from the logits.
public struct SamplingOptions: Sendable, Equatable {
    /// Pick the argmax (HF `do_sample=False`); temperature, top-k and top-p are then not applied.
    public var greedy: Bool
    /// Logits are divided by this before sampling (ignored when 1 or when greedy). Must be > 0 (`validate()`).
    public var temperature: Float
    /// Keep only the k largest logits (ties with the k-th kept); 0 keeps all.
    public var topK: Int
    /// Keep the smallest set of largest-probability tokens whose mass exceeds p; 1 keeps all.
    public var topP: Float
    /// HF repetition penalty: each previously seen token's logit l becomes l < 0 ? l·p : l/p. 1 is off.
    public var repetitionPenalty: Float
    /// EOS is impossible until this many tokens have been generated.
    public var minNewTokens: Int
    /// Seed of the sampler's random stream (same seed, same logits → same tokens).
    public var seed: UInt64

    /// Options; the defaults are greedy decoding with nothing else applied.
    public init(greedy: Bool = true, temperature: Float = 1, topK: Int = 0, topP: Float = 1,
                repetitionPenalty: Float = 1, minNewTokens: Int = 0, seed: UInt64 = 0) {
        self.greedy = greedy
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.minNewTokens = minNewTokens
        self.seed = seed
    }

    /// The talker's settings (OMNI-SPEC §8): sampling with top-k 40, top-p 0.8, temperature 0.9, penalty 1.05.
    public static func talker(seed: UInt64 = 0) -> SamplingOptions {
        SamplingOptions(greedy: false, temperature: 0.9, topK: 40, topP: 0.8, repetitionPenalty: 1.05, seed: seed)
    }
}
