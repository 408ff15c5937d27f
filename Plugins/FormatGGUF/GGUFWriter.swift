import Foundation
import OmniCore

/// Writes one GGUF v3 file (little-endian) from tensor entries, streaming each tensor's bytes.
///
/// Tensor names go through `GGUFNames` (Hugging Face → llama.cpp spelling) when `mapNames` is on, and the
/// original names are kept in `omni.hf_names` so reading gives them back exactly. `extraMetadata` adds
/// key-values after `general.alignment` (e.g. `general.architecture = "qwen2"`, `qwen2.*` hyperparameters and
/// `tokenizer.ggml.*` for a llama.cpp-loadable text decoder). The file is written to a temporary sibling and
/// renamed into place.
public struct GGUFWriter: Sendable {
    /// Data alignment (`general.alignment`): a nonzero power of two.
    public var alignment: Int
    /// Key-values written in this order after `general.alignment`.
    public var extraMetadata: [(key: String, value: GGUFValue)]
    /// Rename Hugging Face names to GGUF names and store the originals in `omni.hf_names`.
    public var mapNames: Bool

    /// A writer with the given alignment, extra key-values and name mapping.
    public init(alignment: Int = 32, extraMetadata: [(key: String, value: GGUFValue)] = [], mapNames: Bool = true) {
        self.alignment = alignment
        self.extraMetadata = extraMetadata
        self.mapNames = mapNames
    }

    /// Writes `entries` to `path`. Throws before creating anything when a header is invalid.
    public func write(_ entries: [TensorEntry], to path: String) throws {
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw OmniError.invalidArgument(name: "alignment", expected: "a nonzero power of two", actual: "\(alignment)")
        }
        var kvs: [(key: String, value: GGUFValue)] = [("general.alignment", .uint32(UInt32(clamping: alignment)))]
        kvs += extraMetadata
        if mapNames { kvs.append((GGUFSource.hfNamesKey, .array(elementType: .string, entries.map { .string($0.name) }))) }
        var keys = Set<String>()
        for kv in kvs where !keys.insert(kv.key).inserted {
            throw OmniError.invalidArgument(name: "metadata", expected: "unique keys (alignment is set by `alignment`)",
                                            actual: "'\(kv.key)' twice")
        }

        // Header and tensor infos.
        var h = GGUFEncoder()
        h.bytes += GGUFHeader.magic
        h.u32(3)
        h.u64(UInt64(entries.count))
        h.u64(UInt64(kvs.count))
        for kv in kvs {
            h.string(kv.key)
            h.u32(kv.value.type.rawValue)
            h.value(kv.value)
        }
        var offsets: [Int] = []
        var offset = 0
        var names = Set<String>()
        for e in entries {
            let name = mapNames ? GGUFNames.gguf(forHF: e.name) : e.name
            guard names.insert(name).inserted else {
                throw OmniError.invalidArgument(name: "tensors", expected: "unique GGUF names", actual: "'\(name)' twice (from '\(e.name)')")
            }
            guard let type = GGMLType(e.dtype) else {
                throw OmniError.unsupported(what: "tensor '\(e.name)' of dtype \(e.dtype) in GGUF",
                                            reasons: ["GGUF stores f32, f16, bf16, q8_0, q4_0, q5_0, q4_k, q6_k, i8, i32, i64"])
            }
            guard e.shape.rank <= GGUFHeader.maxDims, let count = e.shape.checkedElementCount,
                  let n = e.dtype.byteCount(elements: count),
                  !e.dtype.isQuantized || (e.shape.dims.last ?? 0) % e.dtype.blockElements == 0 else {
                throw OmniError.invalidArgument(name: "tensor '\(e.name)'",
                                                expected: "rank ≤ \(GGUFHeader.maxDims) and whole \(e.dtype) blocks per row",
                                                actual: "\(e.shape)")
            }
            h.string(name)
            h.u32(UInt32(e.shape.rank))
            for d in e.shape.dims.reversed() { h.u64(UInt64(d)) }
            h.u32(type.rawValue)
            h.u64(UInt64(offset))
            offsets.append(offset)
            offset += (n + alignment - 1) / alignment * alignment
        }
        h.bytes += [UInt8](repeating: 0, count: (alignment - h.bytes.count % alignment) % alignment)

        let sink = try AtomicFile(path: path)
        try sink.write(h.bytes)
        let dataStart = sink.offset
        for (e, off) in zip(entries, offsets) {
            let t = try e.load()
            guard t.dtype == e.dtype, t.shape == e.shape else {
                throw OmniError.weightFile(file: path, tensor: e.name,
                                           reason: "loaded \(t.dtype) \(t.shape), header says \(e.dtype) \(e.shape)")
            }
            try sink.writeZeros(dataStart + off - sink.offset)
            try t.withContiguousBytes { try sink.write(UnsafeRawBufferPointer(start: $0, count: t.byteCount)) }
        }
        try sink.writeZeros((alignment - (sink.offset - dataStart) % alignment) % alignment)
        try sink.commit()
    }
}

/// Little-endian GGUF encoding of header fields and metadata values.
struct GGUFEncoder {
    var bytes: [UInt8] = []
    mutating func int<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u32(_ v: UInt32) { int(v) }
    mutating func u64(_ v: UInt64) { int(v) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += s.utf8 }
    mutating func value(_ v: GGUFValue) {
        switch v {
        case let .uint8(x): int(x)
        case let .int8(x): int(x)
        case let .uint16(x): int(x)
        case let .int16(x): int(x)
        case let .uint32(x): int(x)
        case let .int32(x): int(x)
        case let .uint64(x): int(x)
        case let .int64(x): int(x)
        case let .float32(x): int(x.bitPattern)
        case let .float64(x): int(x.bitPattern)
        case let .bool(x): bytes.append(x ? 1 : 0)
        case let .string(s): string(s)
        case let .array(type, items):
            u32(type.rawValue)
            u64(UInt64(items.count))
            for item in items { value(item) }
        }
    }
}
