import ArgumentParser
import Foundation
import SwiftOmni

/// `omni bench talker`: talker decode speed (codes/s) on synthetic weights with the Qwen2.5-Omni-7B talker's
/// shapes (OMNI-SPEC §1.5: 24 layers of 896, 12 heads × 128 over 4 KV heads, MLP 18944, codec vocabulary 8448,
/// thinker width 3584), fed random thinker rows, sampling with the reference's settings, at 2 threads by default.
struct BenchTalkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "talker",
        abstract: "Time talker decoding on synthetic weights with the 7B talker's shapes: prefill --prompt-tokens rows, then --codes steps; median codes/s of --runs.")

    @Option(help: "Decoder layers.") var layers = 24
    @Option(help: "Talker width.") var hidden = 896
    @Option(help: "Query heads.") var heads = 12
    @Option(name: .customLong("kv-heads"), help: "Key/value heads.") var kvHeads = 4
    @Option(name: .customLong("head-dim"), help: "Head dim (the M-RoPE sections scale with it).") var headDim = 128
    @Option(help: "MLP width.") var intermediate = 18944
    @Option(help: "Codec vocabulary.") var vocab = 8448
    @Option(name: .customLong("embedding-size"), help: "Thinker width (input of thinker_to_talker_proj).") var embeddingSize = 3584
    @Option(help: "Weight dtype: bf16 (as the checkpoint stores them), f32, or q8_0/q4_0 (matrices quantized as --dtype talker=q8_0 would).")
    var dtype = "bf16"
    @Option(name: .customLong("prompt-tokens"), help: "Prefill rows before timing (prompt + speaker BOS + first reply row).")
    var promptTokens = 128
    @Option(help: "Decode steps timed per run.") var codes = 64
    @Option(help: "Timed runs (after one untimed warm-up run).") var runs = 3
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Attention backend.") var attention = "flash_attention_2"
    @Option(help: "A model folder (e.g. Benchmarks/make_synthetic_speech.py's) whose talker config and talker.* weights to use, in the dtype they are stored (or --dtype q8_0/q4_0), instead of the shape options and random weights.")
    var model: String?

    func validate() throws {
        for (v, name) in [(layers, "--layers"), (hidden, "--hidden"), (heads, "--heads"), (kvHeads, "--kv-heads"),
                          (intermediate, "--intermediate"), (vocab, "--vocab"), (embeddingSize, "--embedding-size"),
                          (promptTokens, "--prompt-tokens"), (codes, "--codes"), (runs, "--runs"), (threads, "--threads")]
        where v < 1 { throw ValidationError("argument \(name): expected an integer ≥ 1, got \(v)") }
        if headDim < 6 || headDim % 2 != 0 { throw ValidationError("argument --head-dim: expected an even integer ≥ 6, got \(headDim)") }
        if heads % kvHeads != 0 { throw ValidationError("argument --kv-heads: expected a divisor of --heads (\(heads)), got \(kvHeads)") }
        if vocab < 8 { throw ValidationError("argument --vocab: expected an integer ≥ 8, got \(vocab)") }
        if !["bf16", "f32", "q8_0", "q4_0"].contains(dtype) {
            throw ValidationError("argument --dtype: expected bf16, f32, q8_0 or q4_0, got \(dtype)")
        }
    }

    func run() throws {
        let registry = BuiltinPlugins.registry()
        let executor = Executor(registry: registry, threads: threads)
        let t0 = BenchTiming.now()
        let config: TalkerConfig, weights: any WeightProvider, made: String
        if let model {
            let dir = URL(fileURLWithPath: model)
            guard let tc = try OmniConfig.load(directory: dir).talker else {
                throw OmniError.config(file: dir.appendingPathComponent("config.json").path, keyPath: "talker_config",
                                       expected: "a talker config", actual: "none")
            }
            config = tc
            let policy = DType(userSpelling: dtype).map { $0.isQuantized ? DTypePolicy($0) : .auto } ?? .auto
            weights = ModelWeights(source: try registry.weightFormat(for: dir).open(dir), registry: registry, policy: policy,
                                   device: executor.device)
            made = "weights of \(model) (\(policy == .auto ? "as stored" : dtype))"
        } else {
            config = try TalkerConfig(raw: talkerJSON(), file: "bench talker shapes")
            let shell = TalkerModel(config: config)
            let w = InMemoryWeights(try quantized(synthetic(shell.expectedWeights()), registry: registry))
            weights = w
            made = "\(dtype) weights \(ByteCount(w.tensors.values.reduce(0) { $0 + $1.byteCount }))"
        }
        let talker = TalkerModel(config: config, attention: attention == "eager" ? ["eager"] : [attention, "eager"])
        let embeddingSize = config.embeddingSize
        print(String(format: "talker: %d layers × %d (heads %d × %d, kv %d, mlp %d), vocab %d, %@ made in %.1f s",
                     config.decoder.layers, config.decoder.hiddenSize, config.decoder.heads, config.decoder.headDim,
                     config.decoder.kvHeads, config.decoder.intermediateSize, config.decoder.vocabSize, made, BenchTiming.now() - t0))
        var rng = SplitMix64(seed: 11)
        func rows(_ n: Int) -> Tensor {
            Tensor((0..<(n * embeddingSize)).map { _ in Float(rng.nextUnit() * 2 - 1) }, shape: [n, embeddingSize])
        }
        let prefillEmbeds = rows(promptTokens), prefillHidden = rows(promptTokens)
        let stream = (0..<8).map { _ in (rows(1), rows(1)) }
        var seconds: [Double] = [], prefill: [Double] = []
        for r in 0...runs {
            let session = try TalkerSession(model: talker, executor: executor, weights: weights, capacity: promptTokens + codes)
            var sampler = Sampler(options: .talker(seed: UInt64(r)))
            var history = [Int](repeating: config.codecMaskTokenID, count: promptTokens)
            let p0 = BenchTiming.now()
            var logits = try session.prefill(embeds: prefillEmbeds, hidden: prefillHidden,
                                             codecIDs: [config.codecPadTokenID, config.codecStartTokenID], positions: nil)
            let p1 = BenchTiming.now()
            let s = try BenchTiming.time {
                for n in 0..<codes {
                    let code = sampler.next(logits: logits, history: history, generatedCount: n, eos: [],
                                            suppressed: [config.codecStartTokenID])
                    history.append(code)
                    let row = stream[min(n, stream.count - 1)]
                    logits = try session.step(code: code, embeds: row.0, hidden: row.1)
                }
            }
            if r > 0 { seconds.append(s); prefill.append(p1 - p0) }   // run 0 warms up (plans, pages)
        }
        let (med, lo, hi) = BenchTiming.rates(seconds, work: codes)
        print(String(format: "talker decode: %.2f codes/s (median of %d runs; min %.2f, max %.2f), prefill %d rows %.3f s, %d codes, threads %d, %@",
                     med, runs, lo, hi, promptTokens, BenchTiming.median(prefill), codes, threads, attention))
        print(String(format: "  = %.2f s of speech per second at 50 codes per second of speech", med / 50))
        print(String(format: "RESULT talker_prefill_s %.3f", BenchTiming.median(prefill)))
        print(String(format: "RESULT talker_codes_per_s %.3f", med))
        print("memory: \(executor.device.memory.report())")
    }

    /// The shapes as a `talker_config` object (codec ids placed at the top of the vocabulary, as in the 7B).
    func talkerJSON() -> JSONValue {
        let third = headDim / 2 / 4, rest = headDim / 2 - third
        let sections = [third, rest / 2, rest - rest / 2]   // [16, 24, 24] for head_dim 128
        return .object([
            "vocab_size": .int(vocab), "embedding_size": .int(embeddingSize), "hidden_size": .int(hidden),
            "intermediate_size": .int(intermediate), "num_hidden_layers": .int(layers), "num_attention_heads": .int(heads),
            "num_key_value_heads": .int(kvHeads), "head_dim": .int(headDim),
            "rope_parameters": .object(["rope_type": .string("default"), "rope_theta": .double(1e6),
                                        "mrope_section": .array(sections.map { .int($0) })]),
            "tts_codec_start_token_id": .int(vocab - 3), "tts_codec_end_token_id": .int(vocab - 2),
            "tts_codec_pad_token_id": .int(vocab - 4), "tts_codec_mask_token_id": .int(vocab - 1),
        ])
    }

    /// Random weights N(0, 1/fan_in)-ish (uniform of that scale) for every key, in `dtype`.
    func synthetic(_ shapes: [String: Shape]) -> [String: Tensor] {
        var rng = SplitMix64(seed: 3)
        var out: [String: Tensor] = [:]
        for (key, shape) in shapes.sorted(by: { $0.key < $1.key }) {
            let n = shape.elementCount
            let scale = Float(1 / Double(shape.rank == 2 ? shape[1] : 1).squareRoot())
            let t = Tensor(zeros: shape, dtype: dtype == "f32" ? .f32 : .bf16)
            let isNorm = key.hasSuffix("norm.weight")
            if dtype != "f32" {
                let p = t.mutableRawPointer.assumingMemoryBound(to: UInt16.self)
                for i in 0..<n {
                    let v = isNorm ? 1 : Float(rng.nextUnit() * 2 - 1) * scale
                    p[i] = UInt16(truncatingIfNeeded: v.bitPattern >> 16)
                }
            } else {
                let p = t.mutableRawPointer.assumingMemoryBound(to: Float.self)
                for i in 0..<n { p[i] = isNorm ? 1 : Float(rng.nextUnit() * 2 - 1) * scale }
            }
            out[key] = t
        }
        return out
    }

    /// For a quantized `--dtype`, the tensors `DTypePolicy` would quantize (matrices of whole blocks, not the
    /// embedding table), converted bf16 → f32 → the target with the registry's converters, as loading does.
    func quantized(_ tensors: [String: Tensor], registry: PluginRegistry) throws -> [String: Tensor] {
        guard let target = DType(userSpelling: dtype), target.isQuantized else { return tensors }
        let policy = DTypePolicy(target)
        var out = tensors
        for (key, t) in tensors where policy.dtype(for: key, stored: t.dtype, shape: t.shape) == target {
            let n = t.elementCount
            let wide = Tensor(zeros: t.shape, dtype: .f32)
            try registry.converter(from: .bf16, to: .f32).convert(t.rawPointer, from: .bf16, to: wide.mutableRawPointer, .f32, count: n)
            let q = Tensor(zeros: t.shape, dtype: target)
            try registry.converter(from: .f32, to: target).convert(wide.rawPointer, from: .f32, to: q.mutableRawPointer, target, count: n)
            out[key] = q
        }
        return out
    }
}
