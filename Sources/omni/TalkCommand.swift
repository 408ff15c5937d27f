import ArgumentParser
import Foundation
import SwiftOmni

/// `omni talk MODEL --prompt TEXT --speaker-bos ID`: the thinker's reply, then the talker's codec codes, both
/// streamed as they come (`generate --speak` joins this with token2wav).
struct TalkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "talk",
        abstract: "Run the thinker on a prompt, then the talker on its reply; print the text and the codec codes.",
        discussion: "The talker samples as the reference does (temperature 0.9, top-k 40, top-p 0.8, repetition "
            + "penalty 1.05) unless --talker-greedy; it stops at the config's codec PAD or EOS. The thinker decodes "
            + "greedily with the generate options below.")

    @OptionGroup var modelArgs: ModelArguments

    @OptionGroup var prompt: PromptArguments

    @Option(help: "Safetensors file with processor outputs instead of --prompt (as for generate).")
    var inputs: String?

    @Option(name: .customLong("speaker-bos"),
            help: "The speaker's BOS token (spk_dict[speaker][\"bos_token\"]), a thinker token id.")
    var speakerBOS: Int

    @Option(name: .customLong("max-new-tokens"), help: "Thinker tokens to generate (at least 2: the talker needs a reply).")
    var maxNewTokens = 64

    @Option(name: .customLong("prefill-chunk"), parsing: .unconditional,
            help: "Prefill the thinker's prompt and the talker's rows in chunks of at most N tokens: 1 … the model's positions. Default: one step.")
    var prefillChunk: Int?

    @Flag(name: .customLong("talker-greedy"), help: "Greedy talker decoding (the repetition penalty still applies).")
    var talkerGreedy = false

    @Option(name: .customLong("talker-max-new-tokens"), help: "Most codes, the ending code included (reference default 4096).")
    var talkerMaxNewTokens = 4096

    @Option(name: .customLong("talker-min-new-tokens"), help: "The ending codes are impossible before this many codes.")
    var talkerMinNewTokens = 0

    @Option(help: "Seed of the talker's sampler.")
    var seed: UInt64 = 0

    @Flag(help: "Print one JSON object {\"tokens\": [...], \"text\": \"...\", \"codes\": [...]} at the end instead of streaming.")
    var json = false

    @Flag(name: .customLong("report-memory"), help: "Print current and peak memory per device and kind, the plan's prediction and the speeds to stderr.")
    var reportMemory = false

    func validate() throws {
        if prompt.isEmpty == (inputs == nil) {
            throw ValidationError("give --prompt (and/or --audio, --image, --video) or --message, or --inputs, not both")
        }
        let r = TalkerOptions.maxNewTokensRange
        if !(2...r.upperBound).contains(maxNewTokens) {
            throw ValidationError("argument --max-new-tokens: expected an integer in 2...\(r.upperBound), got \(maxNewTokens)")
        }
        if !r.contains(talkerMaxNewTokens) {
            throw ValidationError("argument --talker-max-new-tokens: expected an integer in \(r.lowerBound)...\(r.upperBound), got \(talkerMaxNewTokens)")
        }
        if !(0...talkerMaxNewTokens).contains(talkerMinNewTokens) {
            throw ValidationError("argument --talker-min-new-tokens: expected an integer in 0...\(talkerMaxNewTokens) (--talker-max-new-tokens), got \(talkerMinNewTokens)")
        }
        if let n = prefillChunk { try OptionCheck.int(n, "--prefill-chunk", 1...Int(Int32.max), unit: " (at most the model's positions)") }
        if speakerBOS < 0 {
            throw ValidationError("argument --speaker-bos: expected a thinker token id ≥ 0, got \(speakerBOS)")
        }
    }

    func run() throws {
        let model = try modelArgs.load(enableAudioOutput: true, newTokens: maxNewTokens, talkerNewTokens: talkerMaxNewTokens)
        try ThinkerSession.checkPrefillChunk(prefillChunk, config: model.config.thinker.text, argument: "--prefill-chunk")
        let input = try prompt.thinkerInput(inputs: inputs, model: model)
        let talker = TalkerOptions(speakerBOS: speakerBOS, maxNewTokens: talkerMaxNewTokens, minNewTokens: talkerMinNewTokens,
                                   greedy: talkerGreedy, seed: seed, prefillChunk: prefillChunk)
        var text = ""
        var firstCode = true
        let start = BenchTiming.now()
        var thinkerDone = start
        let result = try model.generateSpeech(input: input, thinker: GenerationOptions(maxNewTokens: maxNewTokens, prefillChunk: prefillChunk), talker: talker) {
            switch $0 {
            case let .token(e):
                text += e.text
                if !json { try Console.out(e.text, flush: true) }
            case let .code(c):
                if firstCode { thinkerDone = BenchTiming.now() }
                if !json { try Console.out((firstCode ? "\ncodes:" : "") + " \(c)", flush: true) }
                firstCode = false
            }
        }
        if json {
            let obj: [String: Any] = ["tokens": result.tokens, "text": text, "codes": result.codes]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            try Console.out(result.codes.isEmpty ? "\ncodes: (none)\n" : "\n")
        }
        if reportMemory {
            let end = BenchTiming.now()
            var lines = model.executor.device.memory.report().description + "\n"
            lines += "plan: cpu peak predicted \(ByteCount(model.plan.cpuPeak)) (KV cache: thinker "
                + "\(ByteCount(model.plan.estimates.thinkerKVCache)), talker \(ByteCount(model.plan.estimates.talkerKVCache)))\n"
            if let peak = ProcessMemory.peakResidentBytes { lines += "process: peak RSS \(ByteCount(peak))\n" }
            lines += String(format: "speed: thinker %.3f s for %d tokens, talker %.3f s for %d codes (first code included)\n",
                            thinkerDone - start, result.tokens.count, end - thinkerDone, result.codes.count)
            FileHandle.standardError.write(Data(lines.utf8))
        }
    }
}

extension PromptArguments {
    /// The thinker input: processor outputs for `--prompt`/`--message` and the media options, or the `--inputs`
    /// file (one unpadded prompt).
    func thinkerInput(inputs: String?, model: OmniModel) throws -> ThinkerInput {
        guard let inputs else { return try input(try model.processor(), registry: model.registry) }
        let p = try ProcessorInputs(path: inputs, registry: model.registry)
        guard p.attentionMask.allSatisfy({ $0 == 1 }) else {
            throw OmniError.invalidArgument(name: "\(inputs): attention_mask", expected: "all ones (one unpadded prompt)",
                                            actual: "\(p.attentionMask.filter { $0 == 0 }.count) zeros")
        }
        return p.input
    }
}
