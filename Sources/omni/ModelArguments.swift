import ArgumentParser
import Foundation
import SwiftOmni

/// The options every command that loads a model takes, with the same meaning everywhere.
struct ModelArguments: ParsableArguments {
    @Argument(help: "Model folder, or org/name in the Hugging Face cache.")
    var model: String = "Models/tiny-omni"

    @Option(help: "Weight dtype: auto (as stored, including GGUF q5_0/q4_k/q6_k), f32, f16, bf16, q8_0, q4_0; per component as thinker=bf16,talker=f32.")
    var dtype: String = "auto"

    @Option(help: "Attention backend: flash_attention_2, eager, or a registered one (falls back to eager).")
    var attention: String = "flash_attention_2"

    @Option(name: .customLong("device-map"), help: "Placement: auto (a GPU when one is present), cpu, cuda:0, sequential, balanced.")
    var deviceMap: String = "auto"

    @Option(name: .customLong("max-memory"), help: "Budgets, e.g. cpu=8GiB,disk=64GiB,cuda:0=20GiB.")
    var maxMemory: String?

    @Option(name: .customLong("compute-dtype"), help: "GEMM precision: f32 (parity) or bf16 (speed: on a GPU, and on a CPU with AMX-BF16; elsewhere f32).")
    var computeDType: String = "f32"

    @Option(help: "Branch, tag or commit in the Hugging Face cache.")
    var revision: String?

    @Option(parsing: .unconditional, help: "Worker threads: 1 … 1024 (default: all cores).")
    var threads: Int?

    /// Range checks of these options (called from each command's `validate()`).
    func validateOptions() throws {
        try OptionCheck.threads(threads)
        _ = try dtypePolicy()
        _ = try budgets()
        _ = try deviceMapValue()
        _ = try computePrecision()
    }

    /// `--compute-dtype` as a precision.
    func computePrecision() throws -> ComputePrecision {
        guard let p = ComputePrecision(rawValue: computeDType) else {
            throw ValidationError("argument --compute-dtype: expected f32 or bf16, got '\(computeDType)'")
        }
        return p
    }

    /// The dtype policy `--dtype` describes.
    func dtypePolicy() throws -> DTypePolicy {
        if dtype == "auto" { return .auto }
        var policy = DTypePolicy()
        for part in dtype.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 1 {
                let d = try Self.target(kv[0])
                policy.all = d
            } else {
                guard let c = Component(rawValue: kv[0]) else {
                    throw ValidationError("--dtype: unknown component '\(kv[0])' (thinker, audio_tower, vision_tower, talker, token2wav)")
                }
                let d = try Self.target(kv[1])
                policy.perComponent[c] = d
            }
        }
        return policy
    }

    /// A dtype weights can be converted to; the GGUF-only types (q5_0, q4_k, q6_k) are computed as stored, never made.
    static func target(_ spelling: String) throws -> DType {
        guard let d = DType(userSpelling: spelling) else { throw ValidationError("--dtype: unknown dtype '\(spelling)'") }
        guard d.isConversionTarget else {
            let why = d.isQuantized ? "is read from GGUF files as stored, not converted to" : "is not a weight dtype"
            throw ValidationError("--dtype: \(d) \(why) (use auto, f32, f16, bf16, q8_0 or q4_0)")
        }
        return d
    }

    /// `--max-memory` as bytes per device.
    func budgets() throws -> [DeviceID: Int] {
        guard let maxMemory else { return [:] }
        var out: [DeviceID: Int] = [:]
        for part in maxMemory.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let dev = DeviceID(parsing: kv[0]), let size = ByteCount(parsing: kv[1]) else {
                throw ValidationError("argument --max-memory: expected DEVICE=SIZE items like cpu=8GiB,disk=64GiB, got '\(part)'")
            }
            guard out[dev] == nil else {
                throw ValidationError("argument --max-memory: device \(dev) given twice")
            }
            out[dev] = size.bytes
        }
        return out
    }

    /// `--device-map` as a strategy name or an explicit `prefix=device` map.
    func deviceMapValue() throws -> DeviceMap {
        guard deviceMap.contains("=") else { return .strategy(deviceMap) }
        guard let map = BuiltinPlugins.parseDeviceMap(deviceMap) else {
            throw ValidationError("argument --device-map: expected a strategy name or prefix=device items such as "
                + "thinker=cpu,talker=disk, got '\(deviceMap)'")
        }
        return .explicit(map)
    }

    /// The load options these arguments give (dtype, attention, device map, budgets, revision, compute precision):
    /// what `load` loads with and what `omni plan` plans with.
    func loadOptions(enableAudioOutput: Bool) throws -> LoadOptions {
        var options = LoadOptions(dtype: try dtypePolicy(), attention: attention, deviceMap: try deviceMapValue(),
                                  maxMemory: try budgets(), revision: revision, enableAudioOutput: enableAudioOutput)
        options.computePrecision = try computePrecision()
        return options
    }

    /// Loads the model with these options, planning memory for `tokens` tokens of context.
    /// With audio output, `talkerNewTokens` codes are planned for the talker.
    func load(enableAudioOutput: Bool = false, tokens: Int = 256, newTokens: Int = 256,
              talkerNewTokens: Int? = nil, maxBatch: Int? = nil) throws -> OmniModel {
        var options = try loadOptions(enableAudioOutput: enableAudioOutput)
        options.plannedInput = InputSize(textTokens: tokens, maxNewTokens: newTokens, talkerMaxNewTokens: talkerNewTokens)
        if let maxBatch {   // sessions decoding together: planned (KV cache each) and admitted up to that many
            options.maxBatch = maxBatch
            options.plannedInput.sessions = maxBatch
        }

        if isatty(STDERR_FILENO) != 0 { options.progress = TerminalProgress.report }
        let model = try OmniModel.fromPretrained(model, options: options, threads: threads)
        TerminalProgress.finish()
        return model
    }
}

/// Loading progress on stderr, one self-overwriting line, only when stderr is a terminal.
enum TerminalProgress {
    nonisolated(unsafe) static var shown = false

    @Sendable static func report(_ p: LoadProgress) {
        var line = "\r\u{1B}[2K" + p.stage
        if p.total > 0 { line += ": \(ByteCount(p.done)) of \(ByteCount(p.total))" }
        Console.err(line)
        shown = true
    }

    static func finish() {
        if shown { Console.err("\r\u{1B}[2K"); shown = false }
    }
}
