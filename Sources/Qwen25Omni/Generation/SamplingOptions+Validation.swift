// Mirrors the argument checks of transformers' logits warpers (TemperatureLogitsWarper, TopKLogitsWarper,
// TopPLogitsWarper, RepetitionPenaltyLogitsProcessor), which raise ValueError on these values.

import OmniCore

extension SamplingOptions {
    /// Throws `OmniError.invalidArgument` naming the CLI flag for a value HF would reject.
    public func validate() throws {
        guard temperature > 0, temperature.isFinite else {
            throw OmniError.invalidArgument(name: "--temperature", expected: "a finite number > 0",
                                            actual: "\(temperature)")
        }
        guard topK >= 0 else {
            throw OmniError.invalidArgument(name: "--top-k", expected: "an integer ≥ 0 (0 keeps all)",
                                            actual: "\(topK)")
        }
        guard topP > 0, topP <= 1 else {
            throw OmniError.invalidArgument(name: "--top-p", expected: "a number in (0, 1]",
                                            actual: "\(topP)")
        }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw OmniError.invalidArgument(name: "--repetition-penalty", expected: "a finite number > 0",
                                            actual: "\(repetitionPenalty)")
        }
        guard minNewTokens >= 0 else {
            throw OmniError.invalidArgument(name: "--min-new-tokens", expected: "an integer ≥ 0",
                                            actual: "\(minNewTokens)")
        }
    }
}
