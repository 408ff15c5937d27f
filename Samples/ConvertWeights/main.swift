// Sample: converting and compressing weights with the library's `CheckpointConverter` (what `omni convert` calls).
//
// Usage: ConvertWeights [MODEL_DIR] [OUT_DIR]
// Converts a checkpoint into our lossless zstd container (OUT_DIR/omz, verified bit for bit by the converter) and
// into Q8_0 GGUF (OUT_DIR/q8_0, with the error the converter measured), then lists both with `CheckpointReport`.
import Foundation
import SwiftOmni

let args = CommandLine.arguments.dropFirst()
let model = URL(fileURLWithPath: args.first ?? "Models/tiny-omni")
let out = URL(fileURLWithPath: args.dropFirst().first ?? NSTemporaryDirectory() + "convert-weights-sample-\(getpid())")
let registry = BuiltinPlugins.registry()

do {
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let original = try CheckpointReport(url: model, registry: registry)

    // 1. Lossless: the zstd container.
    let lossless = try CheckpointConverter(registry: registry, format: "zstd").run(model: model, out: out.appendingPathComponent("omz"))
    let packed = try CheckpointReport(url: out.appendingPathComponent("omz"), registry: registry)
    let onDisk = packed.files.reduce(0) { sum, name in
        let path = out.appendingPathComponent("omz").appendingPathComponent(name).path
        return sum + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    }
    print("zstd container: \(lossless.bitExact) of \(lossless.tensors) tensors bit-exact, "
          + "\(ByteCount(original.total.bytes)) of tensors in \(ByteCount(onDisk)) of files")

    // 2. Lossy: matrices to Q8_0 in GGUF (vectors and odd widths keep their dtype).
    let q8 = try CheckpointConverter(registry: registry, format: "gguf", dtype: .q8_0).run(model: model, out: out.appendingPathComponent("q8_0"))
    for (dtype, e) in q8.errors {
        print("Q8_0 GGUF: \(q8.converted) of \(q8.tensors) tensors to \(dtype), max abs error \(e.max)")
    }
    if lossless.bitExact != lossless.tensors { exit(1) }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
