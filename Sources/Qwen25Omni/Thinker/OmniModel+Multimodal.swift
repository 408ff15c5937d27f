import OmniCore

/// Running the towers and merging their rows into the prompt (OMNI-SPEC §3.6, §4).
extension OmniModel {
    /// The audio tower's output for processor features: [Σ tokens, hidden] f32, one row per `<|AUDIO|>`.
    public func encodeAudio(features: Tensor, mask: Tensor) throws -> Tensor {
        guard let audio else {
            throw OmniError.unsupported(what: "audio input", reasons: ["\(directory.folder.path) has no thinker.audio_tower weights"])
        }
        let (lengths, inputs) = try audio.inputs(features: features, mask: mask)
        if let windows = audioWindowsPerRun { return try encodeAudio(audio, lengths: lengths, inputs: inputs, windowsPerRun: windows) }
        return try runTower(audio.graph(lengths: lengths), inputs: inputs, output: AudioEncoder.embeds, what: "audio tower")
    }

    /// The vision tower's output for `pixel_values` and their grids: [Σ t·h·w/4, hidden], one row per placeholder.
    public func encodeVision(pixels: Tensor, grids: [VisionEncoder.Grid]) throws -> Tensor {
        guard let vision else {
            throw OmniError.unsupported(what: "image or video input", reasons: ["\(directory.folder.path) has no thinker.visual weights"])
        }
        try vision.validate(grids)
        let inputs = try vision.inputs(pixels: pixels, grids: grids)   // checks the patch count before the graph is built
        if let slices = visionSlicesPerRun { return try encodeVision(vision, pixels: pixels, grids: grids, slicesPerRun: slices) }
        return try runTower(vision.graph(grids: grids), inputs: inputs, output: VisionEncoder.embeds, what: "vision tower")
    }

    /// One run of a tower's graph (no KV cache), its attention log recorded: the `output` rows.
    func runTower(_ graph: Graph, inputs: [String: Tensor], output: String, what: String) throws -> Tensor {
        let r = try executor.run(graph, bucket: nil, inputs: inputs, weights: weights, cache: nil, keep: [])
        recordAttentionLog(r.attentionLog)
        guard let out = r[output] else { throw OmniError.unsupported(what: what, reasons: ["graph produced no \(output)"]) }
        return out
    }

    /// The [3, T] M-RoPE positions of `input` (`get_rope_index`; 0..<T on every row for text).
    public func positions(_ input: ThinkerInput) throws -> [[Int64]] {
        guard input.hasFeatures else { return Array(repeating: (0..<Int64(input.ids.count)).map { $0 }, count: 3) }
        var media = RopeIndex.Media(imageGrids: input.imageGrids, videoGrids: input.videoGrids, secondsPerGrid: input.secondsPerGrid,
                                    useAudioInVideo: input.useAudioInVideo)
        media.audioFrames = try audioFrames(input)
        return try RopeIndex(config: config.thinker).positions(ids: input.ids, media: media)
    }

    /// Checks `input` and `maxNewTokens` against the thinker's positions before any cache is reserved: a media
    /// prompt by its largest M-RoPE position (`CheckpointLimits.checkPositions(largestPosition:…)`), a text prompt by
    /// its length. Errors name `argument` for the new tokens. Returns the media prompt's positions (nil for text).
    @discardableResult
    public func checkPositions(_ input: ThinkerInput, maxNewTokens: Int, argument: String = "maxNewTokens") throws -> [[Int64]]? {
        guard input.hasFeatures else {
            try CheckpointLimits.checkPositions(promptTokens: input.ids.count, maxNewTokens: maxNewTokens, config: config,
                                                argument: argument)
            return nil
        }
        let p = try positions(input)
        try CheckpointLimits.checkPositions(largestPosition: CheckpointLimits.largestPosition(p), maxNewTokens: maxNewTokens,
                                            config: config, argument: argument)
        return p
    }

    /// Valid mel frames of every audio (`feature_attention_mask.sum(-1)`); empty without audio.
    func audioFrames(_ input: ThinkerInput) throws -> [Int] {
        guard let mask = input.audioMask else { return [] }
        let m = try mask.int64s(), frames = mask.shape[mask.shape.rank - 1]
        return stride(from: 0, to: m.count, by: max(frames, 1)).map { Int(m[$0..<($0 + frames)].reduce(0, +)) }
    }

    /// Input embeddings [T, hidden] for `input`: the token embeddings, with the towers' rows written in order into
    /// the `<|AUDIO|>`, `<|IMAGE|>` and `<|VIDEO|>` positions (`masked_scatter`, OMNI-SPEC §3.6). The number of
    /// placeholders of each kind must equal the number of rows.
    public func inputEmbeddings(_ input: ThinkerInput) throws -> Tensor {
        let d = config.thinker.text.hiddenSize, t = input.ids.count
        let embeds = Tensor(zeros: [t, d])
        // Rows a tower overwrites are not looked up (a minute of video is 97% placeholders): only the text rows, and
        // the placeholders of a modality given without features. The lookup runs in groups of rows, so its arena is
        // bounded by the group, not the prompt.
        var towerFilled = Set<Int>()
        if input.audioFeatures != nil { towerFilled.insert(config.thinker.audioTokenID) }
        if input.pixelValues != nil { towerFilled.insert(config.thinker.imageTokenID) }
        if input.pixelValuesVideos != nil { towerFilled.insert(config.thinker.videoTokenID) }
        let looked = towerFilled.isEmpty ? Array(0..<t) : input.ids.indices.filter { !towerFilled.contains(input.ids[$0]) }
        let group = ActivationPlanner.embeddingRowsPerRun
        for lo in stride(from: 0, to: looked.count, by: group) {
            let slots = looked[lo..<min(lo + group, looked.count)]
            let g = ActivationPlanner.embeddingGraph(rows: slots.count, thinker: thinker)
            let ids = Tensor(int64: slots.map { Int64(input.ids[$0]) }, shape: [slots.count])
            let r = try executor.run(g, bucket: slots.count == group ? "thinker.embed" : nil,
                                     inputs: [ThinkerTextModel.inputIDs: ids], weights: weights, cache: nil, keep: [])
            guard let part = r[ThinkerTextModel.embeds] else {
                throw OmniError.unsupported(what: "token embedding", reasons: ["graph produced no \(ThinkerTextModel.embeds)"])
            }
            let rows = part.contiguous()
            withExtendedLifetime(rows) {
                let src = rows.floatPointer, dst = embeds.floatPointer
                for (j, slot) in slots.enumerated() { (dst + slot * d).update(from: src + j * d, count: d) }
            }
        }
        func scatter(_ rows: Tensor, into id: Int, what: String) throws {
            let slots = input.ids.indices.filter { input.ids[$0] == id }
            guard slots.count == rows.shape[0] else {
                throw OmniError.invalidArgument(name: "input_ids", expected: "\(rows.shape[0]) \(what) tokens (id \(id)) for the features",
                                                actual: "\(slots.count)")
            }
            let dst = embeds.floatPointer, src = rows.floatPointer
            for (row, slot) in slots.enumerated() { (dst + slot * d).update(from: src + row * d, count: d) }
        }
        if let features = input.audioFeatures {
            guard let mask = input.audioMask else {
                throw OmniError.invalidArgument(name: "feature_attention_mask", expected: "present with input_features", actual: "missing")
            }
            try scatter(try encodeAudio(features: features, mask: mask), into: config.thinker.audioTokenID, what: "<|AUDIO|>")
        }
        if let pixels = input.pixelValues {
            try scatter(try encodeVision(pixels: pixels, grids: input.imageGrids), into: config.thinker.imageTokenID, what: "<|IMAGE|>")
        }
        if let pixels = input.pixelValuesVideos {
            try scatter(try encodeVision(pixels: pixels, grids: input.videoGrids), into: config.thinker.videoTokenID, what: "<|VIDEO|>")
        }
        return embeds
    }
}
