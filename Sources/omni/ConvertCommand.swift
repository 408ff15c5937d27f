import ArgumentParser
import Foundation
import OmniCore
import Qwen25Omni

/// `omni convert MODEL OUT --format …`: rewrite a checkpoint in another weight format and/or dtype.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "convert",
        abstract: "Convert a checkpoint to safetensors, gguf or zstd (optionally to another dtype), then verify it.")

    @Argument(help: "Model folder or weight file.") var model: String
    @Argument(help: "Output folder (must not exist; built beside it and renamed into place when complete). A single .omz/.gguf/.safetensors file only when MODEL is one weight file.")
    var out: String
    @Option(help: "Output format: safetensors, gguf or zstd.") var format: String
    @Option(help: "Target dtype: f32, f16, bf16, q8_0 or q4_0 (without it every tensor keeps its dtype, GGUF q5_0/q4_k/q6_k included).") var dtype: String?
    @Option(help: "Largest shard, e.g. 2GB or 500MiB.") var maxShardSize: String?

    func run() throws {
        var target: DType?
        if let dtype {
            guard let d = DType(userSpelling: dtype), d.isConversionTarget else {
                throw OmniError.invalidArgument(name: "--dtype", expected: "f32, f16, bf16, q8_0 or q4_0", actual: dtype)
            }
            target = d
        }
        var shard: Int?
        if let maxShardSize {
            guard let b = ByteCount(parsing: maxShardSize), b.bytes > 0 else {
                throw OmniError.invalidArgument(name: "--max-shard-size", expected: "a size such as 2GB or 500MiB", actual: maxShardSize)
            }
            shard = b.bytes
        }
        let c = CheckpointConverter(registry: Composition.registry(), format: format, dtype: target, maxShardBytes: shard,
                                    log: { print($0) })
        let r = try c.run(model: URL(fileURLWithPath: model), out: URL(fileURLWithPath: out))
        try Console.out("converted \(r.converted) of \(r.tensors) tensors\n")
    }
}
