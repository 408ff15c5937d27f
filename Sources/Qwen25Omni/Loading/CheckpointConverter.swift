import Foundation
import OmniCore

/// Converts a checkpoint between weight formats (and optionally dtypes) through the registry only:
/// `weightFormat(for:)` opens, `weightFormat(named:)` writes, `converter(from:to:)` converts.
///
/// Floating-point tensors take the target dtype; quantized targets apply only to floating-point tensors of
/// rank ≥ 2 whose last dimension is a multiple of 32 (others keep their dtype, and the report says so).
/// Config, tokenizer and processor files (`*.json`, `*.txt` beside the weights, except weight indexes)
/// are copied. The output is re-read and compared with the input: bit-exact for unchanged dtypes, max and
/// mean absolute error for converted ones. On any failure the output folder is removed.
struct CheckpointConverter {
    var registry: PluginRegistry
    /// Output format name (`safetensors`, `gguf`, `zstd`).
    var format: String
    /// Target dtype, or nil to keep every tensor's dtype.
    var dtype: DType?
    var maxShardBytes: Int?
    /// Receives progress and the verification report, line by line.
    var log: (String) -> Void = { print($0) }

    /// What the conversion did.
    struct Report {
        var tensors = 0
        var converted = 0
        var kept: [String] = []
        var copiedFiles: [String] = []
        var bitExact = 0
        /// Per target dtype: (max abs error, sum of abs errors, element count).
        var errors: [DType: (max: Float, sum: Double, count: Int)] = [:]
    }

    @discardableResult
    func run(model: URL, out: URL) throws -> Report {
        guard !FileManager.default.fileExists(atPath: out.path) else {
            throw OmniError.invalidArgument(name: "OUT", expected: "a path that does not exist yet", actual: out.path)
        }
        let writer = try registry.weightFormat(named: format)
        guard writer.capabilities.canWrite else {
            throw OmniError.unsupported(what: "writing \(format)", reasons: ["the \(format) plugin reads only"])
        }
        let source = try registry.weightFormat(for: model).open(model)
        do {
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
            return try convert(source, model: model, writer: writer, out: out)
        } catch {
            try? FileManager.default.removeItem(at: out)
            throw error
        }
    }

    /// The dtype `info` is written as, and why a requested dtype was not applied.
    func target(for info: TensorInfo) -> (DType, String?) {
        guard let dtype, dtype != info.dtype, info.dtype.isFloatingPoint || info.dtype.isQuantized else { return (info.dtype, nil) }
        if dtype.isQuantized {
            guard info.shape.rank >= 2 else { return (info.dtype, nil) } // norms and biases stay as they are
            guard info.shape.dims.last.map({ $0 % dtype.blockElements == 0 }) ?? false else {
                return (info.dtype, "\(info.name): last dimension of \(info.shape) is not a multiple of 32; kept \(info.dtype)")
            }
        } else if !dtype.isFloatingPoint {
            return (info.dtype, nil)
        }
        return (dtype, nil)
    }

    private func convert(_ source: any WeightSource, model: URL, writer: any WeightFormat, out: URL) throws -> Report {
        var report = Report()
        var entries: [TensorEntry] = []
        let registry = self.registry
        for name in source.names {
            guard let info = source.info(name) else { throw OmniError.missingTensor(key: name, file: nil) }
            let (to, note) = target(for: info)
            if let note { report.kept.append(note) }
            if to != info.dtype { report.converted += 1 }
            let converter = to == info.dtype ? nil : try registry.converter(from: info.dtype, to: to)
            entries.append(TensorEntry(name: name, dtype: to, shape: info.shape) {
                let t = try source.tensor(name)
                guard let converter else { return t }
                return try Self.convert(t.contiguous(), to: to, with: converter)
            })
        }
        report.tensors = entries.count
        let written = try writer.write(entries, to: out,
                                       options: WeightWriteOptions(maxShardBytes: maxShardBytes, metadata: source.metadata))
        log("wrote \(written.count) file(s): " + written.map(\.lastPathComponent).joined(separator: ", "))
        report.copiedFiles = try copyAuxiliaryFiles(from: model, to: out)
        try convertSpeakerDictionary(from: model, to: out)
        try verify(source, out: out, report: &report)
        return report
    }

    /// `spk_dict.pt` (a torch pickle: voice → {bos_token, cond, ref_mel}) becomes `spk_dict.safetensors`
    /// (tensors `Voice.cond`, `Voice.ref_mel`; `Voice.bos_token` in `__metadata__`), so nothing needs pickle at
    /// run time. Re-read and compared bit for bit.
    private func convertSpeakerDictionary(from model: URL, to out: URL) throws {
        let pt = model.appendingPathComponent("spk_dict.pt")
        let converted = model.appendingPathComponent("spk_dict.safetensors")
        guard FileManager.default.fileExists(atPath: pt.path) else {
            if FileManager.default.fileExists(atPath: converted.path) {
                try FileManager.default.copyItem(at: converted, to: out.appendingPathComponent("spk_dict.safetensors"))
                log("copied spk_dict.safetensors")
            }
            return
        }
        let speakers = try registry.weightFormat(named: "torch").open(pt)
        let entries = speakers.names.compactMap { name -> TensorEntry? in
            guard let info = speakers.info(name) else { return nil }
            return TensorEntry(name: name, dtype: info.dtype, shape: info.shape) { try speakers.tensor(name).contiguous() }
        }
        let target = out.appendingPathComponent("spk_dict.safetensors")
        let safetensors = try registry.weightFormat(named: "safetensors")
        _ = try safetensors.write(entries, to: target, options: WeightWriteOptions(metadata: speakers.metadata))
        let back = try safetensors.open(target)
        for name in speakers.names {
            let a = try speakers.tensor(name), b = try back.tensor(name)
            guard a.shape == b.shape, a.byteCount == b.byteCount, Self.sameBytes(a, b) else {
                throw OmniError.weightFile(file: target.path, tensor: name, reason: "re-read differs from spk_dict.pt")
            }
        }
        for (k, v) in speakers.metadata where back.metadata[k] != v {
            throw OmniError.weightFile(file: target.path, tensor: nil, reason: "metadata \(k) differs from spk_dict.pt")
        }
        log("wrote spk_dict.safetensors (\(speakers.names.count) tensors, \(speakers.metadata.count) metadata values) from spk_dict.pt: bit-exact")
    }

    /// Byte equality of two tensors of equal byte count (strided views compared in logical order).
    static func sameBytes(_ a: Tensor, _ b: Tensor) -> Bool {
        a.withContiguousBytes { pa in b.withContiguousBytes { memcmp(pa, $0, a.byteCount) == 0 } }
    }

    static func convert(_ t: Tensor, to: DType, with c: any DTypeConverter) throws -> Tensor {
        let out = Tensor(zeros: t.shape, dtype: to)
        try c.convert(t.rawPointer, from: t.dtype, to: out.mutableRawPointer, to, count: t.elementCount)
        return out
    }

    /// `*.json` and `*.txt` files next to the weights (not weight indexes); nothing for a single-file model.
    private func copyAuxiliaryFiles(from model: URL, to out: URL) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model.path, isDirectory: &isDir), isDir.boolValue else { return [] }
        let names = try FileManager.default.contentsOfDirectory(atPath: model.path).sorted().filter {
            ($0.hasSuffix(".json") || $0.hasSuffix(".txt")) && !$0.hasSuffix(".index.json")
        }
        for n in names {
            let dst = out.appendingPathComponent(n)
            if FileManager.default.fileExists(atPath: dst.path) { continue }
            try FileManager.default.copyItem(at: model.appendingPathComponent(n), to: dst)
        }
        if !names.isEmpty { log("copied " + names.joined(separator: ", ")) }
        return names
    }

    /// Re-reads `out` and compares every tensor with the source.
    private func verify(_ source: any WeightSource, out: URL, report: inout Report) throws {
        let reread = try registry.weightFormat(for: out).open(out)
        guard Set(reread.names) == Set(source.names) else {
            throw OmniError.weightFile(file: out.path, tensor: nil, reason: "re-read \(reread.names.count) tensors, wrote \(source.names.count)")
        }
        for name in source.names {
            let a = try source.tensor(name)
            let b = try reread.tensor(name)
            guard a.shape == b.shape else { throw OmniError.shapeMismatch(key: name, expected: a.shape, actual: b.shape) }
            if a.dtype == b.dtype {
                guard a.byteCount == b.byteCount, Self.sameBytes(a, b) else {
                    throw OmniError.weightFile(file: out.path, tensor: name, reason: "re-read bytes differ from the source")
                }
                report.bitExact += 1
                continue
            }
            let x = try floats(a), y = try floats(b)
            var e = report.errors[b.dtype] ?? (0, 0, 0)
            for i in 0..<x.count {
                let d = abs(x[i] - y[i])
                e.max = max(e.max, d)
                e.sum += Double(d)
            }
            e.count += x.count
            report.errors[b.dtype] = e
        }
        if report.errors.isEmpty {
            log("verify: bit-exact (\(report.bitExact) tensors)")
        } else {
            log("verify: \(report.bitExact) tensors bit-exact")
            for (dt, e) in report.errors.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                log(String(format: "verify: %@: max abs error %.6g, mean abs error %.6g over %d values",
                           dt.rawValue, e.max, e.sum / Double(max(e.count, 1)), e.count))
            }
        }
        for k in report.kept { log("kept: \(k)") }
    }

    /// Elements as f32, dequantizing through the registry.
    private func floats(_ t: Tensor) throws -> [Float] {
        if !t.dtype.isQuantized { return try t.floats() }
        return try Self.convert(t, to: .f32, with: registry.converter(from: t.dtype, to: .f32)).floats()
    }
}
