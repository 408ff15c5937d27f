import Foundation
import OmniCore

/// Writes one `.omz` container (layout in `OMZLayout`), tensor by tensor, compressing chunks on `threads`
/// threads; the file goes to a temporary sibling renamed into place.
public struct ZstdWriter: Sendable {
    /// zstd level. The planes are entropy-coded rather than matched, so low levels lose little ratio.
    public var level: Int32
    /// Input bytes per chunk (rounded down to whole elements).
    public var chunkBytes: Int
    /// Compression threads.
    public var threads: Int
    /// zstd's minimum match length (3…7; 0 keeps the level's). Long minimum matches keep the match finder
    /// from cutting the literal runs it cannot shorten anyway: planes are noise plus a skewed histogram.
    public var minMatch: Int32

    /// A writer with the given zstd level, chunk size, minimum match and threads (defaults: the benchmarked choice).
    public init(level: Int32 = 1, chunkBytes: Int = 1 << 20, minMatch: Int32 = 7,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.level = level
        self.minMatch = minMatch
        self.chunkBytes = chunkBytes
        self.threads = threads
    }

    /// Writes `entries` with `metadata` to `path`.
    public func write(_ entries: [TensorEntry], metadata: [String: String], to path: String) throws {
        guard chunkBytes >= 4, chunkBytes <= OMZLayout.maxChunkUnits else {
            throw OmniError.invalidArgument(name: "chunkBytes", expected: "4 … \(OMZLayout.maxChunkUnits)", actual: "\(chunkBytes)")
        }
        var seen = Set<String>()
        for e in entries where !seen.insert(e.name).inserted {
            throw OmniError.invalidArgument(name: "tensors", expected: "unique names", actual: "'\(e.name)' twice")
        }
        let sink = try AtomicFile(path: path)
        try sink.write([UInt8](repeating: 0, count: OMZLayout.headerBytes))
        var index = OMZIndex(metadata: metadata, tensors: [])
        for e in entries {
            let t = try e.load()
            guard t.dtype == e.dtype, t.shape == e.shape else {
                throw OmniError.weightFile(file: path, tensor: e.name,
                                           reason: "loaded \(t.dtype) \(t.shape), header says \(e.dtype) \(e.shape)")
            }
            let ub = ZstdCodec.unitBytes(e.dtype)
            let chunkUnits = max(1, chunkBytes / ub)
            let frames = try t.withContiguousBytes {
                try ZstdCodec.compress($0, byteCount: t.byteCount, dtype: e.dtype, chunkUnits: chunkUnits,
                                       level: level, minMatch: minMatch, threads: threads, what: "\(path): tensor '\(e.name)'")
            }
            var records: [OMZFrame] = []
            for f in frames {
                records.append(OMZFrame(offset: sink.offset, size: f.bytes.count,
                                        xxh64: String(f.hash, radix: 16).leftPadded(16), raw: f.raw ? true : nil))
                try sink.write(f.bytes)
            }
            index.tensors.append(OMZTensor(name: e.name, dtype: e.dtype.rawValue, shape: e.shape.dims,
                                           planes: BytePlanes.count(for: e.dtype), chunkUnits: chunkUnits, frames: records))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = [UInt8](try encoder.encode(index))
        let indexOffset = sink.offset
        try sink.write(json)
        var head = OMZLayout.magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { head += $0 } }
        put(OMZLayout.version)
        put(UInt64(indexOffset))
        put(UInt64(json.count))
        put(json.withUnsafeBytes { XXH64.hash($0) })
        try sink.patch(at: 0, head)
        try sink.commit()
    }
}
