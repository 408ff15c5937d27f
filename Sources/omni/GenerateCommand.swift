import ArgumentParser
import Foundation
import SwiftOmni

/// `omni generate MODEL --prompt TEXT`: streams the thinker's reply.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a prompt (chat template, default system prompt) or from input ids.")

    @OptionGroup var modelArgs: ModelArguments

    @OptionGroup var prompt: PromptArguments

    @Option(help: "Safetensors file with processor outputs instead of --prompt: input_ids (already templated), optional input_features with feature_attention_mask (audio).")
    var inputs: String?

    @Option(help: "JSON Lines file of prompts instead of --prompt: one {\"prompt\": …} object a line (optional system, max_new_tokens, min_new_tokens, greedy, temperature, top_k, top_p, repetition_penalty, seed). All run at once, decode steps batched; one JSON line {\"line\", \"tokens\", \"text\"} each, in input order.")
    var prompts: String?

    @Option(parsing: .unconditional, help: "With --prompts: most sessions decoding in one batched step (and holding a KV cache at once): 1 … 256.")
    var batch = 8

    @Option(name: .customLong("max-new-tokens"), parsing: .unconditional,
            help: "Tokens to generate: 0 … 1048576, and at most the model's positions less the prompt.")
    var maxNewTokens = 64
    @Option(name: .customLong("min-new-tokens"), parsing: .unconditional, help: "Tokens before EOS may end: 0 … --max-new-tokens.")
    var minNewTokens = 0
    @Flag(help: "Greedy decoding (the default unless a sampling option is given).") var greedy = false
    @Option(parsing: .unconditional, help: "Sampling temperature: a finite number > 0 and ≤ 100.") var temperature: Float?
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the k most likely tokens: 0 (all) … 2147483647.")
    var topK: Int?
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus mass: a number in (0, 1].") var topP: Float?
    @Option(name: .customLong("repetition-penalty"), parsing: .unconditional, help: "A finite number > 0 and ≤ 100.")
    var repetitionPenalty: Float = 1
    @Option(parsing: .unconditional, help: "Sampling seed: 0 … 18446744073709551615.") var seed: UInt64 = 0
    @Option(name: .customLong("prefill-chunk"), parsing: .unconditional,
            help: "Prefill the prompt (and with --speak the talker's) in chunks of at most N tokens (activations bounded by the chunk): 1 … the model's positions. Default: one step, or the largest chunk that fits --max-memory when one step does not.")
    var prefillChunk: Int?
    @OptionGroup var towers: TowerChunkArguments
    @Flag(help: "Print one JSON object {\"tokens\": [...], \"text\": \"...\"} at the end instead of streaming.") var json = false
    @Flag(name: .customLong("report-memory"), help: "Print current and peak memory per device and kind to stderr.")
    var reportMemory = false

    @OptionGroup(title: "Speech (--speak)") var speech: SpeakArguments

    /// The largest --max-new-tokens accepted before the model is read (its positions bound it further).
    static let maxNewTokensLimit = 1 << 20

    func validate() throws {
        if [!prompt.isEmpty, inputs != nil, prompts != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give one of --prompt (and/or --audio, --image, --video) or --message, --inputs, --prompts")
        }
        try OptionCheck.int(batch, "--batch", 1...256)
        if prompts != nil, speech.speak != nil { throw ValidationError("--prompts generates text only: leave out --speak") }
        try OptionCheck.int(maxNewTokens, "--max-new-tokens", 0...Self.maxNewTokensLimit)
        try OptionCheck.int(minNewTokens, "--min-new-tokens", 0...maxNewTokens, unit: " (≤ --max-new-tokens)")
        if let n = prefillChunk { try OptionCheck.int(n, "--prefill-chunk", 1...Int(Int32.max), unit: " (at most the model's positions)") }
        if let t = temperature { try OptionCheck.above(Double(t), "--temperature", 0, upper: 100) }
        if let k = topK { try OptionCheck.int(k, "--top-k", 0...Int(Int32.max), unit: " (0 keeps all)") }
        if let p = topP { try OptionCheck.above(Double(p), "--top-p", 0, upper: 1) }
        try OptionCheck.above(Double(repetitionPenalty), "--repetition-penalty", 0, upper: 100)
        try modelArgs.validateOptions()
        if speech.speak == "-" && json {
            throw ValidationError("--speak - writes the WAV to standard output: --json cannot share it")
        }
    }

    func run() throws {
        // The model's positions bound --max-new-tokens before anything is loaded or reserved.
        let config = try OmniConfig.load(directory: ModelDirectory.resolve(modelArgs.model, revision: modelArgs.revision).folder)
        try CheckpointLimits.checkPositions(promptTokens: 0, maxNewTokens: maxNewTokens, config: config,
                                            argument: "--max-new-tokens")
        try ThinkerSession.checkPrefillChunk(prefillChunk, config: config.thinker.text, argument: "--prefill-chunk")
        let positions = config.thinker.text.maxPositionEmbeddings
        let sampling = temperature == nil && topK == nil && topP == nil
        let options = SamplingOptions(greedy: greedy || sampling, temperature: temperature ?? 1, topK: topK ?? 0,
                                      topP: topP ?? 1, repetitionPenalty: repetitionPenalty,
                                      minNewTokens: minNewTokens, seed: seed)
        let generation = GenerationOptions(maxNewTokens: maxNewTokens, sampling: options, prefillChunk: prefillChunk)
        if let file = prompts {
            // Every line is checked before the model is read.
            let data = try RegularFile.read(file)
            let requests = try PromptList.parse(data, file: file, defaults: generation,
                                                maxNewTokens: 0...min(Self.maxNewTokensLimit, positions))
            let model = try modelArgs.load(tokens: 256, newTokens: maxNewTokens, maxBatch: batch)
            try PromptLines.run(model: model, requests: requests, file: file)
            return
        }
        let model = try modelArgs.load(enableAudioOutput: speech.enabled, tokens: min(256, positions - maxNewTokens),
                                       newTokens: maxNewTokens, talkerNewTokens: speech.enabled ? speech.talkerMaxNewTokens : nil)
        let input = try prompt.thinkerInput(inputs: inputs, model: model)
        try model.checkPositions(input, maxNewTokens: maxNewTokens, argument: "--max-new-tokens")
        // Chunk sizes not given are planned for this input: whole unless --max-memory leaves too little for that.
        let requested = towers.requested(prefillChunk: prefillChunk)
        let chunks = try model.plannedChunks(for: input, maxNewTokens: maxNewTokens, requested: requested).chunks
        model.useTowerChunks(chunks)
        if chunks != requested { Console.err("planned chunks for --max-memory: \(chunks)\n") }
        var planned = generation
        planned.prefillChunk = chunks.prefillChunk
        var text = ""
        let start = DispatchTime.now().uptimeNanoseconds
        var firstToken: UInt64 = 0, firstAudio: UInt64 = 0
        // With the WAV on standard output, the text goes to standard error.
        let textOut: (String) throws -> Void = speech.speak == "-" ? { Console.err($0) } : { try Console.out($0, flush: true) }
        func onToken(_ e: GenerationEvent) throws {
            if firstToken == 0 { firstToken = DispatchTime.now().uptimeNanoseconds }
            text += e.text
            if !json { try textOut(e.text) }
        }
        let tokens: [Int]
        var codes: [Int] = []
        var sink: SpeechSink?
        if let path = speech.speak {
            let out = try SpeechSink(path: path, encoding: speech.floatWAV ? .float32 : .pcm16)
            sink = out
            do {
                let r = try model.speak(input: input, thinker: planned, talker: speech.talker(seed: seed, prefillChunk: prefillChunk),
                                        speech: speech.speech(seed: seed)) { event in
                    switch event {
                    case let .token(e): try onToken(e)
                    case .code: break
                    case let .audio(pcm):
                        if firstAudio == 0 { firstAudio = DispatchTime.now().uptimeNanoseconds }
                        try out.append(pcm)
                    }
                }
                try out.finish()
                tokens = r.tokens
                codes = r.codes
            } catch {
                out.discard()
                throw error
            }
        } else {
            tokens = try model.generate(input: input, options: planned) { try onToken($0) }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        let prefillSeconds = Double(firstToken - start) / 1e9
        let tokensPerSecond = tokens.count > 1 ? Double(tokens.count - 1) / (Double(end - firstToken) / 1e9) : 0
        if json {
            var obj: [String: Any] = ["tokens": tokens, "text": text]
            if sink != nil { obj["codes"] = codes }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else if sink?.toStandardOutput == true {
            Console.err("\n")
        } else {
            try Console.out("\n")
        }
        for line in Set(model.attentionFallbacks.map { $0.split(separator: ":", maxSplits: 1).last.map(String.init) ?? $0 }).sorted() {
            Console.err("attention fallback:\(line)\n")
        }
        if reportMemory {
            var lines = model.executor.device.memory.report().description + "\n"
            lines += "plan: cpu peak predicted \(ByteCount(model.plan.cpuPeak))"
            lines += " (weights on cpu \(ByteCount(model.plan.weightBytes(on: .cpu))), on disk \(ByteCount(model.plan.weightBytes(on: .disk))))\n"
            if let peak = ProcessMemory.peakResidentBytes { lines += "process: peak RSS \(ByteCount(peak))\n" }
            lines += "speed: prefill \(String(format: "%.3f", prefillSeconds)) s, decode \(String(format: "%.2f", tokensPerSecond)) tokens/s\n"
            if firstAudio > 0 {
                lines += "speech: \(codes.count) codes, first audio after \(String(format: "%.3f", Double(firstAudio - start) / 1e9)) s, done after \(String(format: "%.3f", Double(end - start) / 1e9)) s\n"
            }
            Console.err(lines)
        }
    }
}
