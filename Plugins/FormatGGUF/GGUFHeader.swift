import OmniCore

/// One tensor's entry in a GGUF header.
struct GGUFTensorRecord: Sendable {
    /// Name as stored in the file (GGUF spelling).
    var ggufName: String
    /// Element type.
    var type: GGMLType
    /// Shape, outermost first (the file stores dims fastest-first; this is reversed).
    var shape: Shape
    /// Byte span in the file (absolute).
    var byteRange: Range<Int>
}

/// A parsed, validated GGUF header (v2 or v3, little-endian).
///
/// Layout (ggml docs/gguf.md): magic `GGUF`, u32 version, u64 tensor count, u64 key-value count,
/// key-values (string key, u32 type, value), tensor infos (string name, u32 n_dims, u64 dims fastest-first,
/// u32 ggml type, u64 offset relative to the data section), padding to `general.alignment` (default 32),
/// then the data section; every offset is a multiple of the alignment.
struct GGUFHeader: Sendable {
    static let magic: [UInt8] = Array("GGUF".utf8)
    static let defaultAlignment = 32
    /// Most dimensions we accept (ggml itself takes 4; our checkpoints have rank-5 conv weights).
    static let maxDims = 8

    var version: UInt32
    var alignment: Int
    /// Key-values in file order.
    var metadata: [(key: String, value: GGUFValue)]
    var tensors: [GGUFTensorRecord]
    /// First byte of the data section.
    var dataStart: Int

    /// Parses and validates `bytes` (the whole file) named `file`.
    init(bytes: UnsafeRawBufferPointer, file: String) throws {
        var r = GGUFByteReader(bytes: bytes, file: file)
        try r.need(4, "magic")
        guard Array(bytes[0..<4]) == Self.magic else {
            throw r.fail("bad magic \(Array(bytes[0..<4]).map { String($0, radix: 16) }), expected 'GGUF' (47 47 55 46)")
        }
        r.position = 4
        let v = try r.read(UInt32.self, "version")
        guard v == 2 || v == 3 else {
            if v.byteSwapped == 2 || v.byteSwapped == 3 { throw r.fail("big-endian GGUF (version \(v.byteSwapped)) is not supported") }
            throw r.fail("unsupported GGUF version \(v), expected 2 or 3")
        }
        version = v
        // Each tensor info takes at least 24 bytes (name length, n_dims, type, offset); each key-value 13.
        let tensorCount = try r.readCount("tensor count", limit: r.remaining / 24)
        let kvCount = try r.readCount("metadata key-value count", limit: r.remaining / 13)

        var kvs: [(key: String, value: GGUFValue)] = []
        var seenKeys = Set<String>()
        for i in 0..<kvCount {
            let key = try r.readString("metadata key #\(i)")
            guard seenKeys.insert(key).inserted else { throw r.fail("metadata key '\(key)' appears twice") }
            let rawType = try r.read(UInt32.self, "metadata '\(key)' type")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw r.fail("metadata '\(key)': unknown value type \(rawType)")
            }
            kvs.append((key, try r.readValue(type, key: key)))
        }
        metadata = kvs

        var align = Self.defaultAlignment
        if let a = kvs.first(where: { $0.key == "general.alignment" })?.value {
            guard let n = a.intValue, n > 0, n & (n - 1) == 0 else {
                throw r.fail("general.alignment \(a) must be a nonzero power of two")
            }
            align = n
        }
        alignment = align

        struct Pending { var name: String; var type: GGMLType; var shape: Shape; var offset: Int; var bytes: Int }
        var pending: [Pending] = []
        var seenNames = Set<String>()
        for i in 0..<tensorCount {
            r.tensor = nil
            let name = try r.readString("tensor #\(i) name")
            r.tensor = name
            guard seenNames.insert(name).inserted else { throw r.fail("tensor name appears twice") }
            let nDims = Int(try r.read(UInt32.self, "n_dims"))
            guard nDims <= Self.maxDims else { throw r.fail("n_dims \(nDims), expected at most \(Self.maxDims)") }
            var dims: [Int] = []
            for d in 0..<nDims {
                let raw = try r.read(UInt64.self, "dimension \(d)")
                guard raw <= UInt64(Int.max) else { throw r.fail("dimension \(d) = \(raw) is absurd") }
                dims.append(Int(raw))
            }
            let rawType = try r.read(UInt32.self, "ggml type")
            guard let type = GGMLType(rawValue: rawType) else {
                throw r.fail("\(GGMLType.name(of: rawType)) is not supported (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K, I8, I32, I64)")
            }
            let offset = try r.read(UInt64.self, "data offset")
            let shape = Shape(dims.reversed())
            guard let count = shape.checkedElementCount, shape.stridesFit else { throw r.fail("shape \(shape) overflows") }
            if type.dtype.isQuantized, dims.first.map({ $0 % type.dtype.blockElements != 0 }) ?? true {
                throw r.fail("\(type.dtype) needs the fastest dimension (columns) to be a multiple of \(type.dtype.blockElements), shape \(shape)")
            }
            guard let nbytes = type.dtype.byteCount(elements: count) else { throw r.fail("byte size of \(shape) overflows") }
            guard offset <= UInt64(bytes.count), Int(offset) % align == 0 else {
                throw r.fail("data offset \(offset) is beyond the file or not a multiple of the alignment \(align)")
            }
            pending.append(Pending(name: name, type: type, shape: shape, offset: Int(offset), bytes: nbytes))
        }
        r.tensor = nil
        let (padded, o) = r.position.addingReportingOverflow((align - r.position % align) % align)
        guard !o, padded <= bytes.count || tensorCount == 0 else {
            throw r.fail("truncated: the data section would start at \(padded), the file has \(bytes.count) bytes")
        }
        dataStart = padded

        var records: [GGUFTensorRecord] = []
        for p in pending {
            let start = dataStart + p.offset
            let (end, o) = start.addingReportingOverflow(p.bytes)
            guard !o, end <= bytes.count else {
                throw OmniError.weightFile(file: file, tensor: p.name,
                    reason: "data [\(start), \(o ? "overflow" : String(end))) is outside the file (\(bytes.count) bytes)")
            }
            records.append(GGUFTensorRecord(ggufName: p.name, type: p.type, shape: p.shape, byteRange: start..<end))
        }
        let sorted = records.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.byteRange.lowerBound < a.byteRange.upperBound {
            throw OmniError.weightFile(file: file, tensor: b.ggufName,
                                       reason: "data overlaps tensor '\(a.ggufName)' (\(b.byteRange) vs \(a.byteRange))")
        }
        tensors = records
    }
}
