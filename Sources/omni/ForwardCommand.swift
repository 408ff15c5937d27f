import ArgumentParser
import Foundation
import SwiftOmni

/// `omni forward MODEL --inputs IN.safetensors --out OUT.safetensors`: one thinker forward pass.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Run one thinker forward pass on processor outputs; write logits, last_hidden and position_ids.")

    @OptionGroup var modelArgs: ModelArguments

    @Option(help: "Safetensors file with input_ids ([seq] or [1, seq], int64), optional attention_mask, and optional input_features with feature_attention_mask (audio).")
    var inputs: String

    @Option(help: "Output safetensors file: logits [seq, vocab] f32, last_hidden [seq, hidden] f32, position_ids [3, seq] i64.")
    var out: String

    @OptionGroup var towers: TowerChunkArguments

    func validate() throws {
        try modelArgs.validateOptions()
        try OptionCheck.outputFile(out, "--out", ext: "safetensors")
    }

    func run() throws {
        let model = try modelArgs.load()
        towers.apply(to: model)
        let p = try ProcessorInputs(path: inputs, registry: model.registry)
        let result = try Forward.run(model: model, input: p.input, mask: p.attentionMask)
        try Forward.write(result, to: URL(fileURLWithPath: out), registry: model.registry)
    }
}

/// The forward computation shared by the CLI and tests.
enum Forward {
    struct Output {
        var logits: Tensor      // (seq, vocab)
        var lastHidden: Tensor  // (seq, hidden)
        var positions: Tensor   // (3, seq) i64
    }

    /// Runs the valid (mask = 1) tokens, which must form a suffix (left padding, as the processor pads);
    /// padded rows get zeros and position 1, as `get_rope_index` gives them.
    static func run(model: OmniModel, input: ThinkerInput, mask: [Int64]) throws -> Output {
        let ids = input.ids
        guard let first = mask.firstIndex(of: 1), mask[first...].allSatisfy({ $0 == 1 }),
              mask[..<first].allSatisfy({ $0 == 0 }) else {
            throw OmniError.invalidArgument(name: "attention_mask", expected: "left padding (0…0 1…1) with at least one 1",
                                            actual: "\(mask.prefix(16))…")
        }
        let valid = Array(ids[first...])
        let session = try model.newSession(capacity: valid.count)
        var validInput = input
        validInput.ids = valid
        // Text takes 0..<T on all three M-RoPE rows; with media, get_rope_index's 3-D positions (OMNI-SPEC §4).
        let pos = try model.positions(validInput)
        let r = input.hasFeatures
            ? try session.prefill(embeddings: try model.inputEmbeddings(validInput), positions: pos, allLogits: true)
            : try session.prefill(ids: valid, allLogits: true)
        let vocab = model.config.thinker.text.vocabSize, d = model.config.thinker.text.hiddenSize
        let n = ids.count, pad = first
        let logits = Tensor(zeros: [n, vocab]), hidden = Tensor(zeros: [n, d])
        // Through withContiguousBytes: `r` dies after its last use, and a bare `.rawPointer` into it would be read
        // after the storage was freed (row 0 of last_hidden came back as malloc's bookkeeping in release builds).
        r[ThinkerTextModel.logits]!.withContiguousBytes {
            logits.mutableRawPointer.advanced(by: pad * vocab * 4).copyMemory(from: $0, byteCount: valid.count * vocab * 4)
        }
        r[ThinkerTextModel.lastHidden]!.withContiguousBytes {
            hidden.mutableRawPointer.advanced(by: pad * d * 4).copyMemory(from: $0, byteCount: valid.count * d * 4)
        }
        let padRow = [Int64](repeating: 1, count: pad)
        let rows = pos.flatMap { padRow + $0 }
        return Output(logits: logits, lastHidden: hidden, positions: Tensor(int64: rows, shape: [3, n]))
    }

    static func write(_ o: Output, to url: URL, registry: PluginRegistry) throws {
        let entries = [("logits", o.logits), ("last_hidden", o.lastHidden), ("position_ids", o.positions)].map { name, t in
            TensorEntry(name: name, dtype: t.dtype, shape: t.shape, load: { t })
        }
        _ = try registry.weightFormat(named: "safetensors").write(entries, to: url, options: WeightWriteOptions())
    }
}
