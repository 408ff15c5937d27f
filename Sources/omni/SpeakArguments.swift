import ArgumentParser
import Foundation
import SwiftOmni

/// `generate --speak`: the talker and token2wav options (the reference's defaults: Chelsie, sampling with
/// temperature 0.9, top-k 40, top-p 0.8, repetition penalty 1.05, 10 RK4 steps).
struct SpeakArguments: ParsableArguments {
    @Option(help: "Speak the reply: write a 24 kHz mono WAV to this path as it is produced (a valid file after every chunk), or '-' for standard output (the text then goes to standard error).")
    var speak: String?

    @Option(help: "Voice from the model's spk_dict (see `omni speakers`; default Chelsie).")
    var speaker: String = Token2Wav.defaultSpeaker

    @Flag(name: .customLong("talker-greedy"), help: "Greedy talker decoding instead of the reference's sampling.")
    var talkerGreedy = false

    @Option(name: .customLong("talker-max-new-tokens"), parsing: .unconditional,
            help: "Most codec codes (50 per second of speech), the ending code included: \(TalkerOptions.maxNewTokensRange.lowerBound) … \(TalkerOptions.maxNewTokensRange.upperBound).")
    var talkerMaxNewTokens = 4096

    @Option(name: .customLong("talker-min-new-tokens"), parsing: .unconditional,
            help: "Codes before an ending code may end speech: 0 … --talker-max-new-tokens.")
    var talkerMinNewTokens = 0

    @Option(name: .customLong("token2wav-steps"), parsing: .unconditional,
            help: "token2wav ODE time points (the reference's num_steps): \(FlowSolver.stepRange.lowerBound) … \(FlowSolver.stepRange.upperBound).")
    var token2wavSteps = Token2Wav.defaultSteps

    @Flag(name: .customLong("float-wav"), help: "Write 32-bit float samples instead of 16-bit PCM.")
    var floatWAV = false

    /// Whether speech was asked for.
    var enabled: Bool { speak != nil }

    func validate() throws {
        try OptionCheck.int(talkerMaxNewTokens, "--talker-max-new-tokens", TalkerOptions.maxNewTokensRange)
        try OptionCheck.int(talkerMinNewTokens, "--talker-min-new-tokens", 0...talkerMaxNewTokens, unit: " (≤ --talker-max-new-tokens)")
        try OptionCheck.int(token2wavSteps, "--token2wav-steps", FlowSolver.stepRange)
        if let speak, speak != "-" { try OptionCheck.outputFile(speak, "--speak", ext: "wav") }
    }

    /// The talker's options (its bos token is the voice's, filled in by `OmniModel.speak`).
    /// The talker's options; it follows the thinker's reply as it is produced, so audio starts before a long
    /// reply ends.
    func talker(seed: UInt64, prefillChunk: Int?) -> TalkerOptions {
        var t = TalkerOptions(speakerBOS: 0, maxNewTokens: talkerMaxNewTokens, minNewTokens: talkerMinNewTokens,
                              greedy: talkerGreedy, seed: seed, prefillChunk: prefillChunk)
        t.interleaved = true
        return t
    }

    /// token2wav's options.
    func speech(seed: UInt64) -> SpeakOptions { SpeakOptions(speaker: speaker, steps: token2wavSteps, seed: seed) }
}

/// Where `generate --speak` writes samples: a WAV file that is valid after every chunk (removed if the run fails),
/// or standard output, written whole at the end (a WAV header needs the length).
final class SpeechSink {
    private let path: String
    private let encoding: WAVEncoding
    private var writer: WAVWriter?
    private var buffered: [Float] = []

    init(path: String, encoding: WAVEncoding) throws {
        self.path = path
        self.encoding = encoding
        if path != "-" { writer = try WAVWriter(path: path, encoding: encoding) }
    }

    /// Whether the samples go to standard output.
    var toStandardOutput: Bool { path == "-" }

    func append(_ samples: [Float]) throws {
        if let writer { try writer.append(samples) } else { buffered += samples }
    }

    /// Closes the file, or writes the whole WAV to standard output.
    func finish() throws {
        if let writer { try writer.close(); return }
        try Console.out(bytes: WAVWriter.bytes(buffered, encoding: encoding))
    }

    /// Removes a file whose run failed (nothing half-written is left behind as if it were complete).
    func discard() {
        guard let writer else { return }
        try? writer.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}
