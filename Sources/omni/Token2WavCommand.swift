import ArgumentParser
import Foundation
import SwiftOmni

/// `omni token2wav MODEL --inputs IN --out OUT`: codec codes → mel → waveform with the model's DiT and BigVGAN.
struct Token2WavCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token2wav",
        abstract: "Turn codec codes into a mel spectrogram and a 24 kHz waveform (DiT + BigVGAN, f32).")

    @Argument(help: "Model folder, or org/name in the Hugging Face cache.")
    var model: String = "Models/tiny-omni"

    @Option(help: "Safetensors file with codes (int64 [n]) and optionally noise (f32 [2n, mel_dim], the ODE's start; default: seeded normal noise).")
    var inputs: String

    @Option(help: "Output safetensors file: mel [mel_dim, 2n] f32 and waveform [samples] f32.")
    var out: String

    @Option(help: "Voice from the model's spk_dict (see `omni speakers`).")
    var speaker: String = Token2Wav.defaultSpeaker

    @Option(help: "ODE time points, \(FlowSolver.stepRange.lowerBound)...\(FlowSolver.stepRange.upperBound) (the reference's num_steps).")
    var steps: Int = Token2Wav.defaultSteps

    @Option(help: "ODE solver: rk4 or euler.")
    var solver: String = ODESolver.rk4.rawValue

    @Option(help: "Classifier-free guidance weight, 0...10 (below 1e-5 the unconditional branch is skipped).")
    var guidance: Float = 0.5

    @Option(help: "Seed of the initial noise when the inputs hold none.")
    var seed: UInt64 = 0

    @Option(help: "Also write the waveform as a 24 kHz mono WAV.")
    var wav: String?

    @Flag(help: "Write the WAV as 32-bit float instead of 16-bit PCM.")
    var floatWav = false

    @Option(help: "Branch, tag or commit in the Hugging Face cache.")
    var revision: String?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Where to compute: auto (a GPU when one is present), cpu, cuda:0.")
    var device: String = "cpu"

    func validate() throws {
        guard FlowSolver.stepRange.contains(steps) else {
            throw ValidationError("--steps: expected \(FlowSolver.stepRange.lowerBound)...\(FlowSolver.stepRange.upperBound), got \(steps)")
        }
        guard ODESolver(rawValue: solver) != nil else {
            throw ValidationError("--solver: expected one of \(ODESolver.allCases.map(\.rawValue).joined(separator: ", ")), got '\(solver)'")
        }
        guard guidance.isFinite, (0...10).contains(guidance) else {
            throw ValidationError("--guidance: expected 0...10, got \(guidance)")
        }
        if let t = threads, t < 1 { throw ValidationError("--threads: expected ≥ 1, got \(t)") }
    }

    func run() throws {
        let registry = Composition.registry()
        let dir = try ModelDirectory.resolve(model, revision: revision)
        let executor = try ComputeSelection.executor(for: .strategy(device), registry: registry, threads: threads)
        let t2w = try Token2Wav.load(directory: dir.folder, registry: registry, executor: executor)
        t2w.guidanceScale = guidance
        let source = try registry.weightFormat(named: "safetensors").open(URL(fileURLWithPath: inputs))
        guard source.info("codes") != nil else { throw OmniError.missingTensor(key: "codes", file: inputs) }
        let codesTensor = try source.tensor("codes")
        guard codesTensor.dtype == .i64 || codesTensor.dtype == .i32, codesTensor.shape.rank == 1 || (codesTensor.shape.rank == 2 && codesTensor.shape[0] == 1) else {
            throw OmniError.invalidArgument(name: "\(inputs): codes", expected: "[n] or [1, n] int64",
                                            actual: "\(codesTensor.shape) \(codesTensor.dtype)")
        }
        let codes = try codesTensor.int64s().map { Int($0) }
        let noise = source.info("noise") != nil ? try source.tensor("noise") : nil
        let mel = try t2w.mel(codes: codes, speaker: speaker, noise: noise, steps: steps,
                              solver: ODESolver(rawValue: solver) ?? .rk4, seed: seed)
        let waveform = try t2w.waveform(mel: mel)
        let entries = [("mel", mel), ("waveform", waveform)].map { name, t in
            TensorEntry(name: name, dtype: t.dtype, shape: t.shape, load: { t })
        }
        _ = try registry.weightFormat(named: "safetensors").write(entries, to: URL(fileURLWithPath: out), options: WeightWriteOptions())
        if let wav {
            try WAVWriter.write(try waveform.floats(), to: wav, encoding: floatWav ? .float32 : .pcm16)
        }
    }
}

/// `omni speakers MODEL`: the voices of the model's speaker dictionary.
struct SpeakersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speakers",
        abstract: "List the voices in the model's spk_dict (name, talker BOS token, reference mel frames).")

    @Argument(help: "Model folder, or org/name in the Hugging Face cache.")
    var model: String = "Models/tiny-omni"

    @Option(help: "Branch, tag or commit in the Hugging Face cache.")
    var revision: String?

    func run() throws {
        let dir = try ModelDirectory.resolve(model, revision: revision)
        let speakers = try Speakers.load(directory: dir.folder, registry: Composition.registry())
        for name in speakers.names {
            guard let v = speakers.voices[name] else { continue }
            print("\(name)\tbos_token \(v.bosToken)\tcond [\(v.cond.elementCount)]\tref_mel \(v.refMel.shape[0]) frames × \(v.refMel.shape[1])")
        }
    }
}
