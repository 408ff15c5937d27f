import Foundation
import OmniCore

/// Reads safetensors headers only (8-byte little-endian length, then JSON), enough to plan without the
/// safetensors plugin. Test-only; the FormatSafetensors plugin is the real reader.
enum HeaderOnlySafetensors {
    static func infos(folder: URL) throws -> [TensorInfo] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".safetensors") }.sorted()
        return try files.flatMap { try infos(file: folder.appendingPathComponent($0)) }
    }

    static func infos(file: URL) throws -> [TensorInfo] {
        let h = try FileHandle(forReadingFrom: file)
        defer { try? h.close() }
        let lenData = try h.read(upToCount: 8) ?? Data()
        let n = lenData.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONValue.parse(h.read(upToCount: n) ?? Data(), file: file.path)
        guard case let .object(entries) = header else { return [] }
        let dtypes: [String: DType] = ["F32": .f32, "F16": .f16, "BF16": .bf16, "I64": .i64, "I32": .i32]
        return entries.compactMap { name, v -> TensorInfo? in
            guard name != "__metadata__", case let .string(dt)? = v["dtype"], let dtype = dtypes[dt],
                  case let .array(shape)? = v["shape"], case let .array(offs)? = v["data_offsets"],
                  case let .int(a) = offs[0], case let .int(b) = offs[1] else { return nil }
            let dims = shape.compactMap { if case let .int(d) = $0 { return d } else { return nil } }
            return TensorInfo(name: name, dtype: dtype, shape: Shape(dims), file: file.lastPathComponent,
                              byteRange: (8 + n + a)..<(8 + n + b))
        }
    }
}
