import Foundation
import OmniCore

/// Codec codes → mel → 24 kHz waveform; mirrors `Qwen2_5OmniToken2WavModel` (OMNI-SPEC §7.2 step 10, §7.4, §7.5):
/// the DiT sampled by a flow-matching ODE with classifier-free guidance, then the BigVGAN vocoder, in f32.
///
/// `try Token2Wav.load(directory: url, registry: registry, executor: executor)` or `try Token2Wav(model: omni)`,
/// then `mel(codes:speaker:noise:steps:solver:)` and `waveform(mel:)`.
public final class Token2Wav: @unchecked Sendable {
    /// DiT and BigVGAN hyper-parameters.
    public let config: Token2WavConfig
    /// Codes → mel velocity network.
    public let dit: DiT
    /// Mel → waveform.
    public let vocoder: BigVGAN
    /// The model's voices.
    public let speakers: Speakers
    /// Checkpoint tensors (token2wav keys are always served in f32).
    public let weights: any WeightProvider
    /// Runs the graphs.
    public let executor: any GraphExecutor
    /// Classifier-free guidance weight (0.5 in the reference; below 1e−5 the unconditional branch is skipped).
    public var guidanceScale: Float = 0.5
    /// Sway-sampling coefficient of the time grid (−1 in the reference).
    public var swayCoefficient: Float = -1

    /// Output sample rate of the vocoder (Qwen's examples write 24 kHz).
    public static let sampleRate = 24_000
    /// The reference's default number of time points.
    public static let defaultSteps = 10
    /// The reference's default speaker.
    public static let defaultSpeaker = "Chelsie"

    /// A token2wav over already-opened weights; `attention` is the DiT's backend chain.
    public init(config: Token2WavConfig, speakers: Speakers, weights: any WeightProvider, executor: any GraphExecutor,
                attention: [String] = ["eager"]) {
        self.config = config
        self.dit = DiT(config: config.dit, attention: attention)
        self.vocoder = BigVGAN(config: config.bigvgan)
        self.speakers = speakers
        self.weights = weights
        self.executor = executor
        self.guidanceScale = 0.5
    }

    /// Loads config, speakers and the token2wav weights of the model folder `directory`, strictly: every DiT and
    /// BigVGAN key must be present with its shape, and no `token2wav.` key may be left unused.
    /// `attention` is the DiT's backend chain (the reference forces sdpa; any backend with segment support fits).
    public static func load(directory: URL, registry: PluginRegistry, executor: any GraphExecutor,
                            attention: [String] = ["flash_attention_2", "eager"]) throws -> Token2Wav {
        let config = try OmniConfig.load(directory: directory)
        let source = try registry.weightFormat(for: directory).open(directory)
        let weights = ModelWeights(source: source, registry: registry, policy: .auto, device: executor.hostDevice)
        return try make(config: config, directory: directory, source: source, weights: weights, registry: registry,
                        executor: executor, attention: attention)
    }

    /// The token2wav of a loaded model, sharing its weights and executor.
    public convenience init(model: OmniModel) throws {
        let made = try Self.make(config: model.config, directory: model.directory.folder, source: model.weights.source,
                                 weights: model.weights, registry: model.registry, executor: model.executor,
                                 attention: model.options.attentionChain(for: .token2wav))
        self.init(config: made.config, speakers: made.speakers, weights: made.weights, executor: made.executor,
                  attention: made.dit.attention)
    }

    private static func make(config: OmniConfig, directory: URL, source: any WeightSource, weights: any WeightProvider,
                             registry: PluginRegistry, executor: any GraphExecutor, attention: [String]) throws -> Token2Wav {
        guard let t2w = config.token2wav else {
            throw OmniError.config(file: directory.appendingPathComponent("config.json").path, keyPath: "token2wav_config",
                                   expected: "a token2wav config (enable_audio_output)", actual: "none")
        }
        let speakers = try Speakers.load(directory: directory, registry: registry)
        let model = Token2Wav(config: t2w, speakers: speakers, weights: weights, executor: executor, attention: attention)
        try OmniModel.checkWeights(expected: model.expectedWeights(), source: source, scopePrefixes: ["token2wav."])
        return model
    }

    /// Every checkpoint key token2wav reads, with its shape.
    public func expectedWeights() -> [String: Shape] {
        dit.expectedWeights().merging(vocoder.expectedWeights()) { a, _ in a }
    }

    // MARK: codes → mel

    /// The mel [melDim, n · repeats] for codec `codes`, in the voice `speaker`, by integrating the DiT's flow from
    /// `noise` [n · repeats, melDim] (nil: standard normal noise from `seed`) over `steps` time points.
    public func mel(codes: [Int], speaker: String = Token2Wav.defaultSpeaker, noise: Tensor? = nil,
                    steps: Int = Token2Wav.defaultSteps, solver: ODESolver = .rk4, seed: UInt64 = 0) throws -> Tensor {
        try mel(codes: codes, voice: speakers.voice(named: speaker), noise: noise, steps: steps, solver: solver, seed: seed)
    }

    /// `mel(codes:speaker:…)` for a `Voice`.
    public func mel(codes: [Int], voice: Voice, noise: Tensor? = nil, steps: Int = Token2Wav.defaultSteps,
                    solver: ODESolver = .rk4, seed: UInt64 = 0) throws -> Tensor {
        let c = config.dit
        let ode = try FlowSolver(steps: steps, sway: swayCoefficient, method: solver)
        let t = try checkCodes(codes)
        try check(voice)
        let y0 = try initialState(noise: noise, frames: t, seed: seed)
        let guided = guidanceScale >= 1e-5
        let cond = try conditioning(codes: codes, voice: voice, guided: guided)
        let graph = dit.velocityGraph(frames: t, guided: guided, guidance: guidanceScale)
        let bucket = "token2wav.dit.velocity.\(c.hashValue).\(t).\(guided).\(guidanceScale)"
        var inputs = dit.constantInputs(frames: t, guided: guided)
        inputs[DiT.conditioning] = cond
        let y = try ode.integrate(y0) { time, state in
            inputs[DiT.state] = Tensor(state, shape: [t, c.melDim])
            inputs[DiT.time] = DiT.timeSinusoid(time)
            let r = try executor.run(graph, bucket: bucket, inputs: inputs, weights: weights, cache: nil, keep: [])
            guard let v = r[DiT.velocity] else { throw OmniError.invalidArgument(name: DiT.velocity, expected: "an output", actual: "none") }
            return try v.floats()
        }
        // [T, mel] → [mel, T].
        var out = [Float](repeating: 0, count: y.count)
        for f in 0..<t { for m in 0..<c.melDim { out[m * t + f] = y[f * c.melDim + m] } }
        return Tensor(out, shape: [c.melDim, t])
    }

    /// Runs the conditioning graph: [B·T, encDim + embDim + encEmbDim].
    func conditioning(codes: [Int], voice: Voice, guided: Bool) throws -> Tensor {
        let c = config.dit, refFrames = voice.refMel.shape[0]
        let g = dit.conditioningGraph(codes: codes.count, refFrames: refFrames, guided: guided)
        var spk = try voice.cond.floats()
        if guided { spk += [Float](repeating: 0, count: c.encEmbDim) }
        var inputs: [String: Tensor] = [
            DiT.refMel: voice.refMel,
            DiT.codeIDs: Tensor(int64: codes.map(Int64.init) + [0], shape: [codes.count + 1]),
            DiT.speaker: Tensor(spk, shape: [guided ? 2 : 1, c.encEmbDim]),
        ]
        if guided { inputs[DiT.nullRefMel] = Tensor(zeros: [refFrames, c.melDim]) }
        let r = try executor.run(g, bucket: nil, inputs: inputs, weights: weights, cache: nil, keep: [])
        guard let out = r[DiT.conditioning] else {
            throw OmniError.invalidArgument(name: DiT.conditioning, expected: "an output", actual: "none")
        }
        return out
    }

    /// Codes must index the codec table and give at most `max_position_embeddings` frames; returns the frame count.
    func checkCodes(_ codes: [Int]) throws -> Int {
        let c = config.dit
        guard !codes.isEmpty else { throw OmniError.invalidArgument(name: "codes", expected: "at least 1 code", actual: "0") }
        let frames = codes.count * c.repeats
        guard frames <= c.maxPositionEmbeddings else {
            throw OmniError.invalidArgument(name: "codes", expected: "at most \(c.maxPositionEmbeddings / c.repeats) codes "
                                            + "(dit_config.max_position_embeddings \(c.maxPositionEmbeddings) frames)", actual: "\(codes.count)")
        }
        if let (i, bad) = codes.enumerated().first(where: { $0.element < 0 || $0.element > c.numEmbeds }) {
            throw OmniError.invalidArgument(name: "codes", expected: "codec ids in 0...\(c.numEmbeds)", actual: "\(bad) at index \(i)")
        }
        return frames
    }

    /// A voice must match the DiT's widths, and its reference mel must outlast the encoder's reflect padding.
    func check(_ voice: Voice) throws {
        let c = config.dit, file = URL(fileURLWithPath: speakers.file).lastPathComponent
        guard voice.cond.shape == [c.encEmbDim] else {
            throw OmniError.shapeMismatch(key: "\(file): \(voice.name).cond", expected: [c.encEmbDim], actual: voice.cond.shape)
        }
        let r = voice.refMel.shape
        guard r[1] == c.melDim, r[0] >= dit.minimumReferenceFrames else {
            throw OmniError.invalidArgument(name: "\(file): \(voice.name).ref_mel",
                                            expected: "(1, T_ref, \(c.melDim)) with T_ref ≥ \(dit.minimumReferenceFrames)",
                                            actual: "(1, \(r[0]), \(r[1]))")
        }
    }

    /// The ODE's starting point: `noise` [frames, melDim] (or [1, frames, melDim]), or seeded standard normal noise.
    func initialState(noise: Tensor?, frames: Int, seed: UInt64) throws -> [Float] {
        let m = config.dit.melDim
        if let noise {
            let s = noise.shape
            guard s.elementCount == frames * m, s.rank >= 2, s[s.rank - 1] == m, s[s.rank - 2] == frames,
                  noise.dtype.isFloatingPoint else {
                throw OmniError.invalidArgument(name: "noise", expected: "f32 [\(frames), \(m)] (2 frames per code)",
                                                actual: "\(s) \(noise.dtype)")
            }
            return try noise.floats()
        }
        return Self.noise(frames: 0..<frames, melDim: m, seed: seed)
    }

    /// Standard normal noise for mel frames `frames`, each frame drawn from its own stream (seed, frame index), so a
    /// streamed chunk and the whole utterance see the same noise for the same frame.
    public static func noise(frames: Range<Int>, melDim m: Int, seed: UInt64) -> [Float] {
        var out = [Float](repeating: 0, count: frames.count * m)
        for (row, f) in frames.enumerated() {
            var rng = SplitMix64(seed: seed ^ (UInt64(f) &* 0x9E37_79B9_7F4A_7C15))
            // Box–Muller, two samples per pair of uniforms.
            var i = 0
            while i < m {
                let u1 = max(rng.nextUnit(), Double.leastNonzeroMagnitude), u2 = rng.nextUnit()
                let r = (-2 * Foundation.log(u1)).squareRoot()
                out[row * m + i] = Float(r * Foundation.cos(2 * .pi * u2))
                if i + 1 < m { out[row * m + i + 1] = Float(r * Foundation.sin(2 * .pi * u2)) }
                i += 2
            }
        }
        return out
    }

    // MARK: mel → waveform

    /// The waveform [frames · 240] of a mel [melDim, frames], clamped to [−1, 1].
    public func waveform(mel: Tensor) throws -> Tensor {
        let frames = mel.shape[mel.shape.rank - 1]
        let bucket = "token2wav.bigvgan.\(config.bigvgan.hashValue).\(frames)"
        let r = try executor.run(vocoder.graph(frames: frames), bucket: bucket, inputs: try vocoder.inputs(mel: mel),
                                 weights: weights, cache: nil, keep: [])
        guard let wav = r[BigVGAN.waveform] else {
            throw OmniError.invalidArgument(name: BigVGAN.waveform, expected: "an output", actual: "none")
        }
        let samples = try wav.floats().map { min(1, max(-1, $0)) }
        return Tensor(samples, shape: [samples.count])
    }

    /// Codes → waveform [n · repeats · 240]: `mel(…)` then `waveform(mel:)`.
    public func waveform(codes: [Int], speaker: String = Token2Wav.defaultSpeaker, noise: Tensor? = nil,
                         steps: Int = Token2Wav.defaultSteps, solver: ODESolver = .rk4, seed: UInt64 = 0) throws -> Tensor {
        try waveform(mel: mel(codes: codes, speaker: speaker, noise: noise, steps: steps, solver: solver, seed: seed))
    }
}
