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

    @Option(name: .customLong("max-new-tokens")) var maxNewTokens = 64
    @Option(name: .customLong("min-new-tokens")) var minNewTokens = 0
    @Flag(help: "Greedy decoding (the default unless a sampling option is given).") var greedy = false
    @Option var temperature: Float?
    @Option(name: .customLong("top-k")) var topK: Int?
    @Option(name: .customLong("top-p")) var topP: Float?
    @Option(name: .customLong("repetition-penalty")) var repetitionPenalty: Float = 1
    @Option var seed: UInt64 = 0
    @Flag(help: "Print one JSON object {\"tokens\": [...], \"text\": \"...\"} at the end instead of streaming.") var json = false
    @Flag(name: .customLong("report-memory"), help: "Print current and peak memory per device and kind to stderr.")
    var reportMemory = false

    func validate() throws {
        if (prompt.prompt == nil && prompt.audio.isEmpty && prompt.image.isEmpty) == (inputs == nil) {
            throw ValidationError("give --prompt (and/or --audio, --image) or --inputs, not both")
        }
        if maxNewTokens < 0 { throw ValidationError("--max-new-tokens must be ≥ 0") }
        if let t = temperature, !(t > 0) { throw ValidationError("--temperature must be > 0") }
        if let p = topP, !(p > 0 && p <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        let model = try modelArgs.load(newTokens: maxNewTokens)
        let input: ThinkerInput
        if inputs == nil { input = try prompt.input(try model.processor()) } else {
            let p = try ProcessorInputs(path: inputs!, registry: model.registry)
            guard p.attentionMask.allSatisfy({ $0 == 1 }) else {
                throw OmniError.invalidArgument(name: "\(inputs!): attention_mask", expected: "all ones (generate runs one unpadded prompt)",
                                                actual: "\(p.attentionMask.filter { $0 == 0 }.count) zeros")
            }
            input = p.input
        }
        let sampling = temperature == nil && topK == nil && topP == nil
        let options = SamplingOptions(greedy: greedy || sampling, temperature: temperature ?? 1, topK: topK ?? 0,
                                      topP: topP ?? 1, repetitionPenalty: repetitionPenalty,
                                      minNewTokens: minNewTokens, seed: seed)
        var text = ""
        let start = DispatchTime.now().uptimeNanoseconds
        var firstToken: UInt64 = 0
        let tokens = try model.generate(input: input, options: GenerationOptions(maxNewTokens: maxNewTokens, sampling: options)) { e in
            if firstToken == 0 { firstToken = DispatchTime.now().uptimeNanoseconds }
            text += e.text
            if !json { FileHandle.standardOutput.write(Data(e.text.utf8)) }
        }
        let end = DispatchTime.now().uptimeNanoseconds
        let prefillSeconds = Double(firstToken - start) / 1e9
        let tokensPerSecond = tokens.count > 1 ? Double(tokens.count - 1) / (Double(end - firstToken) / 1e9) : 0
        if json {
            let obj: [String: Any] = ["tokens": tokens, "text": text]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print()
        }
        for line in Set(model.attentionFallbacks.map { $0.split(separator: ":", maxSplits: 1).last.map(String.init) ?? $0 }).sorted() {
            FileHandle.standardError.write(Data("attention fallback:\(line)\n".utf8))
        }
        if reportMemory {
            var lines = model.executor.device.memory.report().description + "\n"
            lines += "plan: cpu peak predicted \(ByteCount(model.plan.cpuPeak))"
            lines += " (weights on cpu \(ByteCount(model.plan.weightBytes(on: .cpu))), on disk \(ByteCount(model.plan.weightBytes(on: .disk))))\n"
            if let peak = ProcessMemory.peakResidentBytes { lines += "process: peak RSS \(ByteCount(peak))\n" }
            lines += "speed: prefill \(String(format: "%.3f", prefillSeconds)) s, decode \(String(format: "%.2f", tokensPerSecond)) tokens/s\n"
            FileHandle.standardError.write(Data(lines.utf8))
        }
    }
}
