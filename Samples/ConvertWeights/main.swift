// Sample: converting and compressing weights through the registry's plugins.
//
// Usage: ConvertWeights [MODEL_DIR] [OUT_DIR]
// Opens a checkpoint with whichever registered format recognizes it, writes it into our lossless zstd container
// (.omz) and as Q8_0 GGUF, re-reads both, and checks the container bit for bit.
import BuiltinPlugins
import Foundation
import OmniCore

let args = CommandLine.arguments.dropFirst()
let model = URL(fileURLWithPath: args.first ?? "Models/tiny-omni")
let out = URL(fileURLWithPath: args.dropFirst().first ?? NSTemporaryDirectory() + "convert-weights-sample")
let registry = BuiltinPlugins.registry()

do {
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let source = try registry.weightFormat(for: model).open(model)
    print("opened \(model.path) with \(source.formatName): \(source.names.count) tensors")

    // 1. Lossless: the zstd container.
    let lossless = source.names.compactMap { name -> TensorEntry? in
        guard let info = source.info(name) else { return nil }
        return TensorEntry(name: name, dtype: info.dtype, shape: info.shape) { try source.tensor(name) }
    }
    let zstd = try registry.weightFormat(named: "zstd")
    let files = try zstd.write(lossless, to: out.appendingPathComponent("model.omz"), options: WeightWriteOptions())
    let packed = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }
    let original = source.names.reduce(0) { $0 + (source.info($1)?.byteRange.count ?? 0) }
    let back = try zstd.open(files[0])
    var identical = true
    for name in source.names {
        let a = try source.tensor(name), b = try back.tensor(name)
        if a.byteCount != b.byteCount || a.withContiguousBytes({ pa in b.withContiguousBytes { memcmp(pa, $0, a.byteCount) } }) != 0 { identical = false }
    }
    print("zstd container: \(ByteCount(original)) → \(ByteCount(packed)) (ratio \(String(format: "%.3f", Double(original) / Double(max(packed, 1))))), "
          + (identical ? "bit-exact" : "MISMATCH"))

    // 2. Lossy: matrices to Q8_0 in GGUF (vectors and odd widths keep their dtype).
    let toF32 = try registry.converter(from: .bf16, to: .f32), toQ8 = try registry.converter(from: .f32, to: .q8_0)
    let quantized = source.names.compactMap { name -> TensorEntry? in
        guard let info = source.info(name) else { return nil }
        let quantize = info.dtype == .bf16 && info.shape.rank == 2 && info.shape[1] % 32 == 0
        return TensorEntry(name: name, dtype: quantize ? .q8_0 : info.dtype, shape: info.shape) {
            let t = try source.tensor(name)
            guard quantize else { return t }
            let wide = Tensor(zeros: t.shape)
            try toF32.convert(t.rawPointer, from: .bf16, to: wide.mutableRawPointer, .f32, count: t.elementCount)
            let q = Tensor(zeros: t.shape, dtype: .q8_0)
            try toQ8.convert(wide.rawPointer, from: .f32, to: q.mutableRawPointer, .q8_0, count: t.elementCount)
            return q
        }
    }
    let gguf = try registry.weightFormat(named: "gguf")
    let ggufFiles = try gguf.write(quantized, to: out.appendingPathComponent("model-q8_0.gguf"), options: WeightWriteOptions())
    print("Q8_0 GGUF: \(try gguf.open(ggufFiles[0]).names.count) tensors in \(ggufFiles[0].path)")
    if !identical { exit(1) }
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
