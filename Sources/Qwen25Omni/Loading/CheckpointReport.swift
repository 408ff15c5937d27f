import Foundation
import OmniCore

/// What `inspect` reports: built from any registered weight format's headers (no tensor data is read).
public struct CheckpointReport: Encodable, Sendable {
    /// One tensor's header.
    public struct Row: Encodable, Sendable {
        /// Checkpoint key.
        public var name: String
        /// Dtype as stored.
        public var dtype: String
        /// Dims.
        public var shape: [Int]
        /// Element count.
        public var parameters: Int
        /// Bytes as stored.
        public var bytes: Int
        /// File name (no folder).
        public var file: String
        /// Reader that opened it.
        public var format: String
    }

    /// A subtotal.
    public struct Total: Encodable, Sendable {
        /// Tensors counted.
        public var tensors = 0
        /// Elements over them (checked: a header claiming more than `Int` holds saturates).
        public var parameters = 0
        /// Bytes over them (checked likewise).
        public var bytes = 0
    }

    /// The path inspected.
    public var model: String
    /// Formats of the sources opened (the weights, then e.g. `torch` for `spk_dict.pt`).
    public var formats: [String]
    /// Files read.
    public var files: [String]
    /// Every tensor.
    public var tensors: [Row] = []
    /// Totals per component (`thinker`, `audio_tower`…, `spk_dict`, `other`).
    public var components: [String: Total] = [:]
    /// Totals per dtype.
    public var dtypes: [String: Total] = [:]
    /// The grand total.
    public var total = Total()
    /// File metadata, merged over sources.
    public var metadata: [String: String] = [:]

    /// Opens `url` with the format the registry picks; for a folder, also every other file in it that a
    /// registered format recognizes (such as `spk_dict.pt` next to the safetensors shards).
    public init(url: URL, registry: PluginRegistry) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw OmniError.io(path: url.path, reason: "no such file or folder")
        }
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

    /// The Qwen2.5-Omni component a checkpoint name belongs to (`Component(key:)`), or `other`.
    public static func component(of name: String) -> String { Component(key: name)?.rawValue ?? "other" }

    /// A human-readable listing.
    public func table() -> String {
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
        parameters = (Checked(parameters) + params).saturated
        self.bytes = (Checked(self.bytes) + bytes).saturated
    }
}

private extension String {
    /// Right-aligned in `width` columns.
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
