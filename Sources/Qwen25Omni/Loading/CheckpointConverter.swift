import Foundation
import OmniCore

/// Converts a checkpoint between weight formats (and optionally dtypes) through the registry only:
/// `weightFormat(for:)` opens, `weightFormat(named:)` writes, `converter(from:to:)` converts. `omni convert`
/// and the ConvertWeights sample are thin callers of this type.
///
/// Floating-point tensors take the target dtype; quantized targets apply only to floating-point tensors of
/// rank ≥ 2 whose last dimension is a multiple of 32 (others keep their dtype, and the report says so).
/// Config, tokenizer and processor files (`*.json`, `*.txt` beside the weights, except weight indexes)
/// are copied, and `spk_dict.pt` becomes `spk_dict.safetensors`. The output is re-read and compared with the
/// input: bit-exact for unchanged dtypes, max and mean absolute error for converted ones.
///
/// The output is atomic: everything is built in a hidden sibling folder (`.OUT.partial-PID-…`, see
/// `AtomicDirectory`), verified there, and renamed onto `OUT` only when complete. A failed or killed run
/// leaves no `OUT`; the next run removes a killed run's temporary; of two runs to one `OUT`, one complete
/// result wins and the other fails without touching it.
public struct CheckpointConverter {
    /// Where formats and dtype converters come from.
    public var registry: PluginRegistry
    /// Output format name (`safetensors`, `gguf`, `zstd`).
    public var format: String
    /// Target dtype, or nil to keep every tensor's dtype.
    public var dtype: DType?
    /// Largest shard in bytes (nil: one file).
    public var maxShardBytes: Int?
    /// Receives progress and the verification report, line by line.
    public var log: (String) -> Void

    /// A converter to `format` (and `dtype`); `log` receives progress lines.
    public init(registry: PluginRegistry, format: String, dtype: DType? = nil, maxShardBytes: Int? = nil,
                log: @escaping (String) -> Void = { _ in }) {
        self.registry = registry
        self.format = format
        self.dtype = dtype
        self.maxShardBytes = maxShardBytes
        self.log = log
    }

    /// What the conversion did.
    public struct Report: Sendable {
        /// Tensors written.
        public var tensors = 0
        /// Tensors whose dtype changed.
        public var converted = 0
        /// Why a requested dtype was not applied, per tensor.
        public var kept: [String] = []
        /// Auxiliary files copied (config, tokenizer, processor).
        public var copiedFiles: [String] = []
        /// Tensors re-read bit for bit equal to the source.
        public var bitExact = 0
        /// Per target dtype: (max abs error, sum of abs errors, element count).
        public var errors: [DType: (max: Float, sum: Double, count: Int)] = [:]
    }

    /// Converts `model` (a folder or a weight file) into `out`, a path that must not exist yet.
    ///
    /// `out` is a folder (weights, auxiliary files, speakers); it may be a single weight file (`out.omz`,
    /// `out.gguf`, `out.safetensors`, the writer's extension) only when `model` is a single weight file too.
    @discardableResult
    public func run(model: URL, out: URL) throws -> Report {
        let writer = try registry.weightFormat(named: format)
        guard writer.capabilities.canWrite else {
            throw OmniError.unsupported(what: "writing \(format)", reasons: ["the \(format) plugin reads only"])
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model.path, isDirectory: &isDir) else {
            throw OmniError.io(path: model.path, reason: "no such file or folder")
        }
        let singleFile = writer.capabilities.fileExtensions.contains(out.pathExtension.lowercased())
            && !out.pathExtension.isEmpty
        if singleFile && isDir.boolValue {
            throw OmniError.invalidArgument(name: "OUT", expected: "a folder path for a model folder (the weights, config, "
                + "tokenizer and speakers are written into it; e.g. \(out.deletingPathExtension().lastPathComponent)-\(format)), "
                + "or a .\(out.pathExtension) file only when MODEL is a single weight file", actual: out.path)
        }
        if FileManager.default.fileExists(atPath: out.path) {
            throw OmniError.invalidArgument(name: "OUT", expected: "a path that does not exist yet", actual: out.path)
        }
        var parent: ObjCBool = false
        guard FileManager.default.fileExists(atPath: out.deletingLastPathComponent().path, isDirectory: &parent),
              parent.boolValue else {
            throw OmniError.invalidArgument(name: "OUT", expected: "a path in an existing folder", actual: out.path)
        }
        let source = try registry.weightFormat(for: model).open(model)
        let staging = try AtomicDirectory(destination: out)
        defer { staging.discard() }
        let report: Report
        if singleFile {
            let file = staging.url.appendingPathComponent(out.lastPathComponent)
            report = try convert(source, model: model, writer: writer, out: file, auxiliary: false)
            try AtomicStaging.publish(file, to: out)
        } else {
            report = try convert(source, model: model, writer: writer, out: staging.url, auxiliary: true)
            try staging.commit()
        }
        log("wrote \(out.path)")
        return report
    }

    /// The dtype `info` is written as, and why a requested dtype was not applied.
    public func target(for info: TensorInfo) -> (DType, String?) {
        guard let dtype, dtype != info.dtype, info.dtype.isFloatingPoint || info.dtype.isQuantized else { return (info.dtype, nil) }
        if dtype.isQuantized {
            guard info.shape.rank >= 2 else { return (info.dtype, nil) } // norms and biases stay as they are
            guard info.shape.dims.last.map({ $0 % dtype.blockElements == 0 }) ?? false else {
                return (info.dtype, "\(info.name): last dimension of \(info.shape) is not a multiple of \(dtype.blockElements); kept \(info.dtype)")
            }
        } else if !dtype.isFloatingPoint {
            return (info.dtype, nil)
        }
        return (dtype, nil)
    }

    private func convert(_ source: any WeightSource, model: URL, writer: any WeightFormat, out: URL,
                         auxiliary: Bool) throws -> Report {
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
        if auxiliary {
            report.copiedFiles = try copyAuxiliaryFiles(from: model, to: out)
            try convertSpeakerDictionary(from: model, to: out)
        }
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
    public static func sameBytes(_ a: Tensor, _ b: Tensor) -> Bool {
        a.withContiguousBytes { pa in b.withContiguousBytes { memcmp(pa, $0, a.byteCount) == 0 } }
    }

    /// `t` (contiguous) converted to `to` by `c`.
    public static func convert(_ t: Tensor, to: DType, with c: any DTypeConverter) throws -> Tensor {
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
            // Through RegularFile: a FIFO named config.json is an error, not a hang.
            try RegularFile.read(model.appendingPathComponent(n).path).write(to: dst)
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
