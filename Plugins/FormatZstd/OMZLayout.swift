import OmniCore

/// The `.omz` container: lossless zstd-compressed weights, one file per checkpoint.
///
/// ```
/// offset 0   "OMZ1"        magic (4 bytes)
///        4   u32 version   1
///        8   u64 indexOffset
///       16   u64 indexLength
///       24   u64 indexXXH64  XXH64 (seed 0) of the index bytes
///       32   frames        zstd frames, one per (chunk, plane), in tensor order
/// indexOffset index         UTF-8 JSON (`OMZIndex`), the last thing in the file
/// ```
/// All integers little-endian. The index is found from the fixed header and read without decompressing
/// anything. A tensor is cut into chunks of `chunkUnits` units (elements for f32/f16/bf16, bytes for every
/// other dtype, the last chunk shorter); each chunk is split into `BytePlanes` (exponent bytes apart from
/// sign+mantissa bytes; 1 plane for non-float dtypes) and every plane of every chunk is one zstd frame.
/// `frames[c * planes + p]` is chunk c, plane p, with its file offset, compressed size and the XXH64 of
/// its stored bytes, checked before decompression; a plane zstd cannot shrink is stored raw and read in
/// place from the mapping. Chunks decompress independently (in parallel)
/// straight into the tensor's buffer.
enum OMZLayout {
    static let magic: [UInt8] = Array("OMZ1".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 32
    /// Largest index we accept (JSON), against hostile headers.
    static let maxIndexBytes = 1 << 30
    /// Largest chunk we accept, in units, against hostile indexes (scratch is allocated per chunk).
    static let maxChunkUnits = 1 << 26
}

/// The container's index.
struct OMZIndex: Codable, Sendable {
    var metadata: [String: String]
    var tensors: [OMZTensor]
}

/// One tensor in the index.
struct OMZTensor: Codable, Sendable {
    var name: String
    /// `DType` raw value.
    var dtype: String
    /// Outermost first.
    var shape: [Int]
    /// Byte planes per chunk (element size for floats, else 1).
    var planes: Int
    /// Units (elements for floats, bytes otherwise) per chunk.
    var chunkUnits: Int
    /// Chunk-major, plane-minor.
    var frames: [OMZFrame]
}

/// One frame: file offset, stored size, XXH64 of the stored bytes (16 hex digits). `raw: true` marks a
/// plane stored uncompressed because zstd could not shrink it (mantissa bytes); absent means zstd.
struct OMZFrame: Codable, Sendable {
    var offset: Int
    var size: Int
    var xxh64: String
    var raw: Bool?
}
