import ArgumentParser
import Foundation
import OmniCore

/// `omni inspect MODEL [--json]`: every tensor of a checkpoint with totals per component and per dtype.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List every tensor (name, dtype, shape, bytes, file) with totals per component and dtype.")

    @Argument(help: "A model folder or a weight file (.safetensors, .pt, …).")
    var model: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: model) else {
            throw OmniError.io(path: model, reason: "no such file or folder")
        }
        let report = try CheckpointReport(url: URL(fileURLWithPath: model), registry: Composition.registry())
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            print(report.table())
        }
    }
}

/// What `inspect` reports: built from any registered weight format's headers (no tensor data is read).
struct CheckpointReport: Encodable {
    /// One tensor's header.
    struct Row: Encodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var parameters: Int
        var bytes: Int
        var file: String
        var format: String
    }

    /// A subtotal.
    struct Total: Encodable {
        var tensors = 0
        var parameters = 0
        var bytes = 0
    }

    var model: String
    var formats: [String]
    var files: [String]
    var tensors: [Row] = []
    var components: [String: Total] = [:]
    var dtypes: [String: Total] = [:]
    var total = Total()
    var metadata: [String: String] = [:]

    /// Opens `url` with the format the registry picks; for a folder, also every other file in it that a
    /// registered format recognizes (such as `spk_dict.pt` next to the safetensors shards).
    init(url: URL, registry: PluginRegistry) throws {
        model = url.path
        var sources = [try registry.weightFormat(for: url).open(url)]
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
            let used = Set(sources[0].files.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
            let others = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            for name in others.sorted() where !name.hasPrefix(".") {
                let f = url.appendingPathComponent(name)
                guard !used.contains(f.standardizedFileURL.path), !name.hasSuffix(".json"),
                      let format = try? registry.weightFormat(for: f) else { continue }
                sources.append(try format.open(f))
            }
        }
        formats = sources.map(\.formatName)
        files = sources.flatMap(\.files).map { URL(fileURLWithPath: $0).lastPathComponent }
        for source in sources {
            for (k, v) in source.metadata { metadata[k] = v }
            for name in source.names {
                guard let info = source.info(name) else { continue }
                let params = info.shape.checkedElementCount ?? 0
                let bytes = info.dtype.byteCount(elements: params) ?? info.byteRange.count
                tensors.append(Row(name: name, dtype: info.dtype.rawValue, shape: info.shape.dims, parameters: params,
                                   bytes: bytes,
                                   file: URL(fileURLWithPath: info.file).lastPathComponent,
                                   format: source.formatName))
                let fromSpeakers = URL(fileURLWithPath: info.file).lastPathComponent.hasPrefix("spk_dict.")
                components[fromSpeakers ? "spk_dict" : Self.component(of: name), default: Total()].add(params, bytes)
                dtypes[info.dtype.rawValue, default: Total()].add(params, bytes)
                total.add(params, bytes)
            }
        }
    }

    /// The Qwen2.5-Omni component a checkpoint name belongs to.
    static func component(of name: String) -> String {
        let prefixes: [(String, String)] = [
            ("thinker.model.", "thinker"), ("thinker.lm_head.", "thinker"),
            ("thinker.audio_tower.", "audio_tower"), ("thinker.visual.", "vision_tower"),
            ("talker.", "talker"), ("token2wav.", "token2wav"),
        ]
        return prefixes.first { name.hasPrefix($0.0) }?.1 ?? "other"
    }

    /// A human-readable listing.
    func table() -> String {
        var lines: [String] = []
        let width = min(90, tensors.map(\.name.count).max() ?? 0)
        for r in tensors {
            let shape = "[" + r.shape.map(String.init).joined(separator: ", ") + "]"
            lines.append(r.name.padding(toLength: max(width, r.name.count), withPad: " ", startingAt: 0)
                         + "  " + r.dtype.padding(toLength: 5, withPad: " ", startingAt: 0)
                         + "  " + shape.padding(toLength: 18, withPad: " ", startingAt: 0)
                         + "  " + String(r.bytes).leftPadded(12) + "  " + r.file)
        }
        func section(_ title: String, _ totals: [String: Total]) {
            lines.append("\n\(title):")
            for (k, t) in totals.sorted(by: { $0.key < $1.key }) {
                lines.append("  " + k.padding(toLength: 14, withPad: " ", startingAt: 0)
                             + String(t.tensors).leftPadded(6) + " tensors  "
                             + String(t.parameters).leftPadded(14) + " params  "
                             + String(describing: ByteCount(t.bytes)).leftPadded(10))
            }
        }
        section("per component", components)
        section("per dtype", dtypes)
        lines.append("\ntotal: \(total.tensors) tensors, \(total.parameters) parameters, \(ByteCount(total.bytes)) "
                     + "in \(files.count) file(s) (\(formats.joined(separator: ", ")))")
        return lines.joined(separator: "\n")
    }
}

extension CheckpointReport.Total {
    mutating func add(_ params: Int, _ bytes: Int) {
        tensors += 1
        parameters += params
        self.bytes += bytes
    }
}

extension String {
    /// Right-aligned in `width` columns.
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
