import OmniCore

/// A bounds-checked little-endian cursor over untrusted bytes; every failure is a `weightFile` error
/// naming the file and, once set, the tensor being read.
struct GGUFByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    /// Next byte to read.
    var position = 0
    /// The tensor whose info is being read (named in errors).
    var tensor: String?

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    var remaining: Int { bytes.count - position }

    func fail(_ reason: String) -> OmniError { .weightFile(file: file, tensor: tensor, reason: reason) }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= remaining else {
            throw fail("truncated: \(what) needs \(n) bytes at offset \(position), \(remaining) left")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return v
    }

    /// A u64 count or size that must fit in `Int` and not exceed `limit`.
    mutating func readCount(_ what: String, limit: Int) throws -> Int {
        let raw = try read(UInt64.self, what)
        guard raw <= UInt64(limit) else { throw fail("\(what) \(raw) is absurd (at most \(limit) fit in the file)") }
        return Int(raw)
    }

    /// A GGUF string: u64 length + UTF-8 bytes (not NUL-terminated).
    mutating func readString(_ what: String) throws -> String {
        let n = try readCount("\(what) length", limit: Int.max)
        guard n <= remaining else { throw fail("\(what) length \(n) is absurd: only \(remaining) bytes follow") }
        guard let s = String(bytes: bytes[position..<position + n], encoding: .utf8) else {
            throw fail("\(what) at offset \(position) is not valid UTF-8")
        }
        position += n
        return s
    }

    /// One value of `type`; arrays nest at most `depth` more levels.
    mutating func readValue(_ type: GGUFValueType, key: String, depth: Int = 0) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, key))
        case .int8: return .int8(try read(Int8.self, key))
        case .uint16: return .uint16(try read(UInt16.self, key))
        case .int16: return .int16(try read(Int16.self, key))
        case .uint32: return .uint32(try read(UInt32.self, key))
        case .int32: return .int32(try read(Int32.self, key))
        case .uint64: return .uint64(try read(UInt64.self, key))
        case .int64: return .int64(try read(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, key)))
        case .bool:
            let b = try read(UInt8.self, key)
            guard b <= 1 else { throw fail("metadata '\(key)': bool byte \(b), expected 0 or 1") }
            return .bool(b == 1)
        case .string: return .string(try readString("metadata '\(key)' string"))
        case .array:
            guard depth < 8 else { throw fail("metadata '\(key)': arrays nested deeper than 8 levels") }
            let rawType = try read(UInt32.self, "metadata '\(key)' array type")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw fail("metadata '\(key)': unknown array element type \(rawType)")
            }
            let count = try readCount("metadata '\(key)' array length", limit: Int.max)
            guard count <= remaining / elementType.minimumSize else {
                throw fail("metadata '\(key)' array length \(count) is absurd: only \(remaining) bytes follow")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(elementType, key: key, depth: depth + 1)) }
            return .array(elementType: elementType, items)
        }
    }
}
