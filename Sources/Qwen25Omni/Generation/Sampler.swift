import OmniCore
// Mirrors transformers' logits processors and warpers in the order `generate` applies them:
// RepetitionPenaltyLogitsProcessor → MinNewTokensLengthLogitsProcessor → SuppressTokensLogitsProcessor →
// TemperatureLogitsWarper →
// TopKLogitsWarper → TopPLogitsWarper → softmax → multinomial (or argmax when greedy).

import Foundation

/// Chooses next tokens from logits under `SamplingOptions`, with its own seeded random stream.
public struct Sampler: Sendable {
    /// The options this sampler applies.
    public let options: SamplingOptions
    private var rng: SplitMix64
    private var scores: [Float] = []

    /// A sampler whose random stream starts from `options.seed`.
    public init(options: SamplingOptions) {
        self.options = options
        rng = SplitMix64(seed: options.seed)
    }

    /// The next token id for `logits` (one per vocabulary entry).
    /// - Parameters:
    ///   - history: every token id seen so far (prompt and generated), for the repetition penalty.
    ///   - generatedCount: how many tokens have been generated so far, for `minNewTokens`.
    ///   - eos: the end-of-sequence ids that `minNewTokens` suppresses.
    ///   - suppressed: ids that are never chosen (HF `suppress_tokens`; the talker's codec BOS).
    public mutating func next(logits: [Float], history: [Int], generatedCount: Int, eos: Set<Int>,
                              suppressed: Set<Int> = []) -> Int {
        logits.withUnsafeBufferPointer {
            next(logits: $0, history: history, generatedCount: generatedCount, eos: eos, suppressed: suppressed)
        }
    }

    /// The next token id; see `next(logits:history:generatedCount:eos:suppressed:)` with an array.
    public mutating func next(logits: UnsafeBufferPointer<Float>, history: [Int], generatedCount: Int,
                              eos: Set<Int>, suppressed: Set<Int> = []) -> Int {
        precondition(!logits.isEmpty, "Sampler.next: empty logits")
        scores.removeAll(keepingCapacity: true)
        scores.append(contentsOf: logits)
        process(&scores, history: history, generatedCount: generatedCount, eos: eos, suppressed: suppressed)
        if options.greedy { return Self.argmax(scores) }
        let candidates = warp(scores)
        return draw(from: candidates)
    }

    /// Repetition penalty, min-new-tokens, then suppression, in place (the processors that apply to greedy
    /// decoding too).
    func process(_ scores: inout [Float], history: [Int], generatedCount: Int, eos: Set<Int>,
                 suppressed: Set<Int> = []) {
        let p = options.repetitionPenalty
        if p != 1 {
            var seen = Set<Int>()
            for id in history where id >= 0 && id < scores.count && seen.insert(id).inserted {
                let l = scores[id]
                scores[id] = l < 0 ? l * p : l / p
            }
        }
        if generatedCount < options.minNewTokens {
            for id in eos where id >= 0 && id < scores.count { scores[id] = -.infinity }
        }
        for id in suppressed where id >= 0 && id < scores.count { scores[id] = -.infinity }
    }

    /// The first index of the largest score (torch.argmax's tie rule). NaN scores are never chosen.
    static func argmax(_ scores: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        var found = false
        for (i, v) in scores.enumerated() where !v.isNaN && (!found || v > bestValue) {
            best = i
            bestValue = v
            found = true
        }
        return best
    }

    /// Temperature, top-k and top-p: the surviving (id, scaled logit) pairs in ascending logit order.
    func warp(_ scores: [Float]) -> [(id: Int, logit: Float)] {
        let t = options.temperature > 0 ? options.temperature : 1
        var candidates: [(id: Int, logit: Float)] = []
        candidates.reserveCapacity(scores.count)
        for (i, v) in scores.enumerated() where v > -.infinity && !v.isNaN { candidates.append((i, v / t)) }
        if candidates.isEmpty { return [(Self.argmax(scores), 0)] }
        if options.topK > 0, options.topK < candidates.count {
            let kth = Self.kthLargest(candidates.map(\.logit), k: options.topK)
            candidates.removeAll { $0.logit < kth }
        }
        candidates.sort { $0.logit != $1.logit ? $0.logit < $1.logit : $0.id > $1.id }
        if options.topP < 1 {
            // HF: ascending cumulative probability; drop while it stays ≤ 1 − p, always keep the largest.
            let probs = Self.softmax(candidates.map(\.logit))
            var cumulative: Float = 0
            var drop = 0
            for k in 0..<(probs.count - 1) {
                cumulative += probs[k]
                if cumulative <= 1 - options.topP { drop = k + 1 } else { break }
            }
            candidates.removeFirst(drop)
        }
        return candidates
    }

    /// Samples one id with probability softmax(logit) over `candidates`.
    private mutating func draw(from candidates: [(id: Int, logit: Float)]) -> Int {
        let probs = Self.softmax(candidates.map(\.logit))
        let u = Float(rng.nextUnit())
        var cumulative: Float = 0
        // Walk from the most likely token so rounding leftovers land on it.
        for k in stride(from: candidates.count - 1, through: 0, by: -1) {
            cumulative += probs[k]
            if u < cumulative { return candidates[k].id }
        }
        return candidates[candidates.count - 1].id
    }

    static func softmax(_ logits: [Float]) -> [Float] {
        guard let m = logits.max() else { return [] }
        var e = logits.map { Foundation.exp($0 - m) }
        let sum = e.reduce(0, +)
        for i in e.indices { e[i] /= sum }
        return e
    }

    /// The k-th largest value (1-based) by a size-k min-heap: O(n log k).
    static func kthLargest(_ values: [Float], k: Int) -> Float {
        var heap: [Float] = []
        heap.reserveCapacity(k)
        for v in values {
            if heap.count < k {
                heap.append(v)
                var c = heap.count - 1
                while c > 0 {
                    let parent = (c - 1) / 2
                    if heap[parent] <= heap[c] { break }
                    heap.swapAt(parent, c)
                    c = parent
                }
            } else if v > heap[0] {
                heap[0] = v
                var p = 0
                while true {
                    let l = 2 * p + 1, r = l + 1
                    var smallest = p
                    if l < k, heap[l] < heap[smallest] { smallest = l }
                    if r < k, heap[r] < heap[smallest] { smallest = r }
                    if smallest == p { break }
                    heap.swapAt(p, smallest)
                    p = smallest
                }
            }
        }
        return heap[0]
    }
}
