import Foundation
import OmniCore

/// How token2wav cuts a code stream into pieces. All DiT sizes are in attention blocks (`block_size` mel frames),
/// so every window starts on the block grid the DiT was trained with.
public struct Token2WavStreamOptions: Sendable, Hashable {
    /// Mel blocks finished per DiT run.
    public var chunkBlocks: Int
    /// Blocks of already-finished mel before the chunk that the DiT sees again as context; nil (the default) takes
    /// twice the DiT's look-back layers (`look_backward_layers`: 4 blocks for Qwen2.5-Omni-7B). The ODE chains its
    /// evaluations, so context reaches further back than one block per look-back layer: on the speaker variant
    /// (two look-back layers, 4 RK4 steps) 2 blocks left 5.1e-3 of max|whole| between seams, 4 blocks 3.05e-4.
    public var leftBlocks: Int?
    /// Blocks of not-yet-final codes after the chunk that the DiT sees as context (the chunk waits for them).
    public var rightBlocks: Int
    /// Mel frames of context on each side of a vocoder piece (BigVGAN's receptive field is about 25 frames).
    public var vocoderContext: Int

    /// Options; every count must be ≥ 0 (`chunkBlocks` ≥ 1).
    /// Defaults measured on the tiny checkpoints (4 RK4 steps): one block of right context leaves 2% of max|whole|
    /// between seams, two leave 7e-4 (block 24); more right context changes nothing once the left context is enough.
    public init(chunkBlocks: Int = 2, leftBlocks: Int? = nil, rightBlocks: Int = 2, vocoderContext: Int = 32) {
        self.chunkBlocks = chunkBlocks
        self.leftBlocks = leftBlocks
        self.rightBlocks = rightBlocks
        self.vocoderContext = vocoderContext
    }

    /// The left context used with `config`: `leftBlocks`, or twice its look-back layers when that is nil.
    public func leftBlocks(for config: DiTConfig) -> Int {
        leftBlocks ?? 2 * Set(config.lookBackwardLayers.filter { (0..<config.layers).contains($0) }).count
    }

    func validate() throws {
        for (v, name, lo) in [(chunkBlocks, "chunkBlocks", 1), (leftBlocks ?? 0, "leftBlocks", 0), (rightBlocks, "rightBlocks", 0),
                              (vocoderContext, "vocoderContext", 0)] where !(lo...10_000).contains(v) {
            throw OmniError.invalidArgument(name: name, expected: "an integer in \(lo)...10000", actual: "\(v)")
        }
    }
}

/// Token2wav as codes arrive (OMNI-SPEC §7.4: the DiT attends within 24-frame blocks plus one block back or ahead
/// in a few layers, so a chunk with a little context on each side sounds like the whole utterance): the DiT runs on
/// [left context | chunk | right context] windows aligned to its blocks and keeps the chunk's mel; BigVGAN runs on
/// mel pieces with `vocoderContext` frames of overlap and keeps the piece's samples. `push` returns the PCM that is
/// final so far; `finish` flushes the rest. Noise comes per frame (`Token2Wav.noise`) or from a whole `noise` tensor,
/// so streamed and whole runs start from the same point.
public final class Token2WavStreamer {
    public let model: Token2Wav
    public let voice: Voice
    public let steps: Int
    public let solver: ODESolver
    public let options: Token2WavStreamOptions
    private let seed: UInt64
    private let fixedNoise: [Float]?
    private var codes: [Int] = []
    /// Final mel so far, frame-major [melDone, melDim].
    private var mel: [Float] = []
    private var melDone = 0
    private var vocoded = 0
    private var finished = false
    /// Mel frames at which DiT chunks were cut (for reporting where seams sit).
    public private(set) var seams: [Int] = []

    /// A streamer for `voice`; `noise` [frames, melDim] fixes the starting point of every frame (tests compare with
    /// a whole run this way); nil draws it per frame from `seed`.
    public init(model: Token2Wav, voice: Voice, steps: Int = Token2Wav.defaultSteps, solver: ODESolver = .rk4,
                seed: UInt64 = 0, noise: Tensor? = nil, options: Token2WavStreamOptions = Token2WavStreamOptions()) throws {
        try options.validate()
        _ = try FlowSolver(steps: steps)
        let c = model.config.dit
        guard c.blockSize % c.repeats == 0 else {
            throw OmniError.unsupported(what: "streaming token2wav", reasons: ["block_size \(c.blockSize) is not a multiple of repeats \(c.repeats)"])
        }
        if let noise {
            guard noise.shape.rank == 2, noise.shape[1] == c.melDim, noise.dtype.isFloatingPoint else {
                throw OmniError.invalidArgument(name: "noise", expected: "f32 [frames, \(c.melDim)]", actual: "\(noise.shape) \(noise.dtype)")
            }
        }
        try model.check(voice)
        self.model = model
        self.voice = voice
        self.steps = steps
        self.solver = solver
        self.seed = seed
        self.fixedNoise = try noise?.floats()
        self.options = options
    }

    /// Adds codes; returns the PCM samples that became final.
    public func push(_ new: [Int]) throws -> [Float] {
        guard !finished else { throw OmniError.invalidArgument(name: "push", expected: "codes before finish()", actual: "after") }
        codes += new
        _ = try model.checkCodes(codes)
        try runDiT(final: false)
        return try runVocoder(final: false)
    }

    /// No more codes: returns the remaining PCM samples.
    public func finish() throws -> [Float] {
        guard !finished else { return [] }
        finished = true
        guard !codes.isEmpty else { return [] }
        try runDiT(final: true)
        return try runVocoder(final: true)
    }

    private func runDiT(final: Bool) throws {
        let c = model.config.dit, bs = c.blockSize, m = c.melDim
        let available = codes.count * c.repeats
        let chunk = options.chunkBlocks * bs, left = options.leftBlocks(for: c) * bs, right = options.rightBlocks * bs
        while melDone < available {
            let end = min(melDone + chunk, available)
            if !final && (melDone + chunk + right > available) { return }
            let lo = max(0, melDone - left), hi = min(available, end + right)
            let window = Array(codes[(lo / c.repeats)..<(hi / c.repeats)])
            let noise: [Float]
            if let fixed = fixedNoise {
                guard fixed.count >= hi * m else {
                    throw OmniError.invalidArgument(name: "noise", expected: "at least \(hi) frames", actual: "\(fixed.count / m)")
                }
                noise = Array(fixed[(lo * m)..<(hi * m)])
            } else {
                noise = Token2Wav.noise(frames: lo..<hi, melDim: m, seed: seed)
            }
            let out = try model.mel(codes: window, voice: voice, noise: Tensor(noise, shape: [hi - lo, m]), steps: steps,
                                    solver: solver).floats()                                    // [m, hi − lo]
            let w = hi - lo
            for f in (melDone - lo)..<(end - lo) { for b in 0..<m { mel.append(out[b * w + f]) } }
            if melDone > 0 { seams.append(melDone) }
            melDone = end
        }
    }

    /// Vocodes the final mel in pieces of at most one DiT chunk, each with `vocoderContext` frames on both sides.
    private func runVocoder(final: Bool) throws -> [Float] {
        let c = model.config.dit, m = c.melDim, ctx = options.vocoderContext, hop = model.vocoder.samplesPerFrame
        let upTo = final ? melDone : melDone - ctx
        var out: [Float] = []
        while upTo > vocoded {
            let end = min(upTo, vocoded + options.chunkBlocks * c.blockSize)
            let lo = max(0, vocoded - ctx), hi = min(melDone, end + ctx), w = hi - lo
            var piece = [Float](repeating: 0, count: m * w)
            for f in 0..<w { for b in 0..<m { piece[b * w + f] = mel[(lo + f) * m + b] } }
            let wav = try model.waveform(mel: Tensor(piece, shape: [m, w])).floats()
            out += wav[((vocoded - lo) * hop)..<((end - lo) * hop)]
            vocoded = end
        }
        return out
    }
}

extension Token2Wav {
    /// PCM chunks (24 kHz, f32 in [−1, 1]) of the speech for `codes` as they arrive, e.g. from the talker.
    public func pcmStream<Codes: AsyncSequence>(codes: Codes, speaker: String = Token2Wav.defaultSpeaker,
                                                steps: Int = Token2Wav.defaultSteps, solver: ODESolver = .rk4, seed: UInt64 = 0,
                                                options: Token2WavStreamOptions = Token2WavStreamOptions())
        -> AsyncThrowingStream<[Float], Error> where Codes.Element == Int {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let streamer = try Token2WavStreamer(model: self, voice: try speakers.voice(named: speaker), steps: steps,
                                                         solver: solver, seed: seed, options: options)
                    for try await code in codes {
                        try Task.checkCancellation()
                        let pcm = try streamer.push([code])
                        if !pcm.isEmpty { continuation.yield(pcm) }
                    }
                    let rest = try streamer.finish()
                    if !rest.isEmpty { continuation.yield(rest) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
