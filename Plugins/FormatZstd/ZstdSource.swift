import Foundation
import OmniCore

/// An opened `.omz` container. The index is read and validated at open; `tensor(_:)` decompresses one
/// tensor (checking each frame's XXH64) into a new 64-byte-aligned buffer, on `threads` threads.
public final class ZstdSource: WeightSource {
    struct Entry {
        var dtype: DType
        var shape: Shape
        var byteCount: Int
        var planes: Int
        var chunkUnits: Int
        var frames: [ZstdCodec.FrameRef]
        var span: Range<Int>
    }

    public var formatName: String { "zstd" }
    public var files: [String] { [file.path] }
    /// Metadata stored by the writer (e.g. the source checkpoint's).
    public let metadata: [String: String]
    /// Tensor names, sorted.
    public let names: [String]
    /// Threads used to decompress one tensor.
    public let threads: Int
    private let file: MappedFile
    private let entries: [String: Entry]

    /// Maps `path` and validates its header and index. `threads` defaults to every core.
    public init(path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        let file = try MappedFile(path: path)
        func fail(_ reason: String, _ tensor: String? = nil) -> OmniError { .weightFile(file: path, tensor: tensor, reason: reason) }
        let size = file.byteCount
        guard size >= OMZLayout.headerBytes else { throw fail("truncated: \(size) bytes, the header alone is \(OMZLayout.headerBytes)") }
        let head = file.bytes(0..<OMZLayout.headerBytes)
        guard Array(head[0..<4]) == OMZLayout.magic else { throw fail("bad magic, expected 'OMZ1'") }
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: head.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: head.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        guard u32(4) == OMZLayout.version else { throw fail("unsupported version \(u32(4)), expected \(OMZLayout.version)") }
        let (indexOffset, indexLength, indexHash) = (u64(8), u64(16), u64(24))
        guard indexOffset >= UInt64(OMZLayout.headerBytes), indexLength <= UInt64(OMZLayout.maxIndexBytes),
              indexOffset <= UInt64(size), indexLength <= UInt64(size) - indexOffset else {
            throw fail("truncated or corrupt: index [\(indexOffset), +\(indexLength)) does not fit in \(size) bytes")
        }
        let indexBytes = file.bytes(Int(indexOffset)..<Int(indexOffset + indexLength))
        guard XXH64.hash(indexBytes) == indexHash else { throw fail("index checksum mismatch: the file is corrupt") }
        let index: OMZIndex
        do {
            index = try JSONDecoder().decode(OMZIndex.self, from: Data(indexBytes))
        } catch {
            throw fail("index is not valid JSON for the container: \(error)")
        }
        let dataEnd = Int(indexOffset)
        var map: [String: Entry] = [:]
        for t in index.tensors {
            guard map[t.name] == nil else { throw fail("tensor appears twice in the index", t.name) }
            guard let dtype = DType(rawValue: t.dtype) else { throw fail("unknown dtype '\(t.dtype)'", t.name) }
            let shape = Shape(t.shape)
            guard let count = shape.checkedElementCount, shape.stridesFit, let bytes = dtype.byteCount(elements: count) else {
                throw fail("shape \(shape) is invalid for \(dtype)", t.name)
            }
            let ub = ZstdCodec.unitBytes(dtype)
            guard t.planes == BytePlanes.count(for: dtype), t.chunkUnits > 0, t.chunkUnits <= OMZLayout.maxChunkUnits else {
                throw fail("planes \(t.planes) / chunk \(t.chunkUnits) invalid for \(dtype)", t.name)
            }
            let chunks = (bytes / ub + t.chunkUnits - 1) / t.chunkUnits
            guard t.frames.count == chunks * t.planes else {
                throw fail("\(t.frames.count) frames, expected \(chunks * t.planes)", t.name)
            }
            var refs: [ZstdCodec.FrameRef] = []
            var lo = dataEnd, hi = OMZLayout.headerBytes
            for (i, f) in t.frames.enumerated() {
                guard f.offset >= OMZLayout.headerBytes, f.size > 0, f.offset <= dataEnd, f.size <= dataEnd - f.offset else {
                    throw fail("frame \(i) [\(f.offset), +\(f.size)) is outside the data area [32, \(dataEnd))", t.name)
                }
                guard f.xxh64.count == 16, let h = UInt64(f.xxh64, radix: 16) else {
                    throw fail("frame \(i) checksum '\(f.xxh64)' is not 16 hex digits", t.name)
                }
                refs.append(ZstdCodec.FrameRef(offset: f.offset, size: f.size, hash: h, raw: f.raw ?? false))
                lo = min(lo, f.offset)
                hi = max(hi, f.offset + f.size)
            }
            let span = t.frames.isEmpty ? OMZLayout.headerBytes..<OMZLayout.headerBytes : lo..<hi
            map[t.name] = Entry(dtype: dtype, shape: shape, byteCount: bytes, planes: t.planes, chunkUnits: t.chunkUnits,
                                frames: refs, span: span)
        }
        self.file = file
        self.metadata = index.metadata
        self.entries = map
        self.names = map.keys.sorted()
        self.threads = max(1, threads)
    }

    public func info(_ name: String) -> TensorInfo? {
        entries[name].map { TensorInfo(name: name, dtype: $0.dtype, shape: $0.shape, file: file.path, byteRange: $0.span) }
    }

    /// Stored (uncompressed) bytes of `name`.
    public func byteCount(_ name: String) -> Int? { entries[name]?.byteCount }

    public func tensor(_ name: String) throws -> Tensor {
        guard let e = entries[name] else { throw OmniError.missingTensor(key: name, file: file.path) }
        let storage = Storage(zeroedByteCount: e.byteCount)
        try decompress(name, into: storage.cpuAddress)
        return Tensor(storage: storage, shape: e.shape, dtype: e.dtype)
    }

    /// Decompresses `name` into `dst`, which must hold `byteCount(name)` bytes.
    public func decompress(_ name: String, into dst: UnsafeMutableRawPointer) throws {
        guard let e = entries[name] else { throw OmniError.missingTensor(key: name, file: file.path) }
        try ZstdCodec.decompress(name, frames: e.frames, planes: e.planes, chunkUnits: e.chunkUnits, dtype: e.dtype,
                                 byteCount: e.byteCount, from: file, into: dst, threads: threads, path: file.path)
    }

    public func prefetch(_ name: String) { if let e = entries[name] { file.prefetch(e.span) } }
    public func release(_ name: String) { if let e = entries[name] { file.release(e.span) } }
}
