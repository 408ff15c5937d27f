import OmniCore

/// What the processor hands the thinker: token ids with their placeholders already expanded, and the features
/// that fill those placeholders (audio today; images and video come with the vision tower).
public struct ThinkerInput: Sendable {
    /// Prompt ids; each `<|AUDIO|>` stands for one audio-tower output row.
    public var ids: [Int]
    /// Whisper log-mel `input_features` [B, melBins, F] (or [melBins, F]), f32.
    public var audioFeatures: Tensor?
    /// `feature_attention_mask` [B, F] (or [F]): ones over each audio's valid frames, then zeros.
    public var audioMask: Tensor?

    public init(ids: [Int], audioFeatures: Tensor? = nil, audioMask: Tensor? = nil) {
        self.ids = ids
        self.audioFeatures = audioFeatures
        self.audioMask = audioMask
    }

    /// Whether any placeholder features are present (the prompt then runs from embeddings).
    public var hasFeatures: Bool { audioFeatures != nil }
}

extension OmniModel {
    /// The audio tower's output for processor features: [Σ tokens, hidden] f32, one row per `<|AUDIO|>`.
    public func encodeAudio(features: Tensor, mask: Tensor) throws -> Tensor {
        guard let audio else {
            throw OmniError.unsupported(what: "audio input", reasons: ["\(directory.folder.path) has no thinker.audio_tower weights"])
        }
        let (lengths, inputs) = try audio.inputs(features: features, mask: mask)
        let r = try executor.run(audio.graph(lengths: lengths), bucket: nil, inputs: inputs, weights: weights, cache: nil, keep: [])
        recordAttentionLog(r.attentionLog)
        guard let out = r[AudioEncoder.embeds] else {
            throw OmniError.unsupported(what: "audio tower", reasons: ["graph produced no \(AudioEncoder.embeds)"])
        }
        return out
    }

    /// Input embeddings [T, hidden] for `input`: the token embeddings, with the audio tower's rows written in
    /// order into the `<|AUDIO|>` positions (`masked_scatter`, OMNI-SPEC §3.6). The number of placeholders must
    /// equal the number of audio rows.
    public func inputEmbeddings(_ input: ThinkerInput) throws -> Tensor {
        let d = config.thinker.text.hiddenSize
        var g = Graph()
        let ids = g.input(ThinkerTextModel.inputIDs, shape: [input.ids.count], dtype: .i64)
        let table = g.weight(thinker.scope["embed_tokens.weight"], shape: [config.thinker.text.vocabSize, d])
        g.markOutput(g.embedding(table, ids: ids, name: ThinkerTextModel.embeds))
        let r = try executor.run(g, bucket: nil, inputs: [ThinkerTextModel.inputIDs: Tensor(int64: input.ids.map(Int64.init), shape: [input.ids.count])],
                                 weights: weights, cache: nil, keep: [])
        guard let embeds = r[ThinkerTextModel.embeds] else {
            throw OmniError.unsupported(what: "token embedding", reasons: ["graph produced no \(ThinkerTextModel.embeds)"])
        }
        guard let features = input.audioFeatures else { return embeds }
        guard let mask = input.audioMask else {
            throw OmniError.invalidArgument(name: "feature_attention_mask", expected: "present with input_features", actual: "missing")
        }
        let audio = try encodeAudio(features: features, mask: mask)
        let slots = input.ids.indices.filter { input.ids[$0] == config.thinker.audioTokenID }
        guard slots.count == audio.shape[0] else {
            throw OmniError.invalidArgument(name: "input_ids", expected: "\(audio.shape[0]) <|AUDIO|> tokens (id \(config.thinker.audioTokenID)) for the audio features",
                                            actual: "\(slots.count)")
        }
        let dst = embeds.floatPointer, src = audio.floatPointer
        for (row, slot) in slots.enumerated() { (dst + slot * d).update(from: src + row * d, count: d) }
        return embeds
    }
}
