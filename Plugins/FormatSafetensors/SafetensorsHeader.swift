import Foundation
import OmniCore

/// One validated `.safetensors` file: the header's tensors with absolute byte ranges, and `__metadata__`.
///
/// Layout (reference: huggingface/safetensors): 8-byte little-endian header length `n`, `n` bytes of JSON
/// (`{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}`), then the data
/// area; offsets are relative to the data area.
struct SafetensorsHeader {
    /// Largest header we accept (the reference implementation's cap).
    static let maxHeaderBytes = 100_000_000

    /// The file path, as given.
    let path: String
    /// Tensors in file order (by data offset).
    let tensors: [TensorInfo]
    /// `__metadata__`, or empty.
    let metadata: [String: String]
    /// First byte of the data area.
    let dataStart: Int

    /// Parses and validates the header of `file`. Reads only the first `8 + n` bytes, with `pread`
    /// (touching the mapping would make the kernel read megabytes around the header).
    /// Throws `OmniError.weightFile` naming the file (and tensor, where one is at fault).
    init(file: MappedFile) throws {
        let path = file.path
        func fail(_ reason: String, _ tensor: String? = nil) -> OmniError {
            .weightFile(file: path, tensor: tensor, reason: reason)
        }
        guard file.byteCount >= 8 else {
            throw fail("truncated: \(file.byteCount) bytes, need at least the 8-byte header length")
        }
        var n: UInt64 = 0
        for (i, b) in try FileRead.bytes(path, offset: 0, count: 8).enumerated() { n |= UInt64(b) << (8 * UInt64(i)) }
        guard n <= UInt64(Self.maxHeaderBytes) else {
            throw fail("header length \(n) exceeds the \(Self.maxHeaderBytes)-byte cap")
        }
        let headerLength = Int(n)
        guard 8 + headerLength <= file.byteCount else {
            throw fail("header length \(headerLength) runs past the end of the file (\(file.byteCount) bytes)")
        }
        let dataStart = 8 + headerLength
        let dataSize = file.byteCount - dataStart
        let json = try FileRead.bytes(path, offset: 8, count: headerLength)

        let doc: HeaderDocument
        do {
            doc = try HeaderDocument(json: json)
        } catch let e as Reason {
            throw fail(e.text)
        } catch let e as EntryError {
            throw fail(e.reason, e.tensor)
        }

        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(doc.entries.count)
        for raw in doc.entries {
            let dtype: DType
            switch SafetensorsDType.parse(raw.dtype) {
            case .success(let d): dtype = d
            case .failure(let r): throw fail(r.text, raw.name)
            }
            let shape = Shape(raw.shape)
            guard let count = shape.checkedElementCount, shape.stridesFit else {
                throw fail("shape \(shape) has a negative dimension or overflows", raw.name)
            }
            guard let bytes = dtype.byteCount(elements: count) else {
                throw fail("shape \(shape) of \(dtype) overflows", raw.name)
            }
            let begin = raw.offsets[0], end = raw.offsets[1]
            guard begin >= 0, begin <= end else {
                throw fail("data_offsets [\(begin), \(end)] are not an increasing pair", raw.name)
            }
            guard end <= dataSize else {
                throw fail("data_offsets [\(begin), \(end)] run past the data area (\(dataSize) bytes)", raw.name)
            }
            guard end - begin == bytes else {
                throw fail("\(dtype) \(shape) needs \(bytes) bytes but data_offsets [\(begin), \(end)] span "
                           + "\(end - begin)", raw.name)
            }
            tensors.append(TensorInfo(name: raw.name, dtype: dtype, shape: shape, file: path,
                                      byteRange: (dataStart + begin)..<(dataStart + end)))
        }
        tensors.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var previous: TensorInfo?
        for t in tensors where !t.byteRange.isEmpty {
            if let p = previous, t.byteRange.lowerBound < p.byteRange.upperBound {
                throw fail("bytes \(t.byteRange.lowerBound - dataStart)..<\(t.byteRange.upperBound - dataStart) "
                           + "overlap tensor '\(p.name)' (\(p.byteRange.lowerBound - dataStart)..<"
                           + "\(p.byteRange.upperBound - dataStart))", t.name)
            }
            previous = t
        }
        self.path = path
        self.tensors = tensors
        self.metadata = doc.metadata
        self.dataStart = dataStart
    }
}

/// The header JSON, checked entry by entry so that every problem is reported with its tensor.
private struct HeaderDocument {
    struct Entry {
        var name: String
        var dtype: String
        var shape: [Int]
        var offsets: [Int]
    }

    var entries: [Entry] = []
    var metadata: [String: String] = [:]

    init(json: [UInt8]) throws {
        guard case .object(let members) = try HeaderValue.parse(json) else { throw Reason("header is not a JSON object") }
        entries.reserveCapacity(members.count)
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let m) = value else { throw Reason("__metadata__ must be an object of string values") }
                for (k, v) in m {
                    guard case .string(let s) = v else { throw Reason("__metadata__ must be an object of string values") }
                    metadata[k] = s
                }
                continue
            }
            guard case .object(let fields) = value else {
                throw EntryError(tensor: name, reason: "entry must be an object with dtype, shape, data_offsets")
            }
            var dtype: String?, shape: [Int]?, offsets: [Int]?
            for (k, v) in fields {
                switch k {
                case "dtype": if case .string(let s) = v { dtype = s }
                case "shape": shape = v.intArray
                case "data_offsets": offsets = v.intArray
                default: break
                }
            }
            guard let dtype else { throw EntryError(tensor: name, reason: "'dtype' must be a string") }
            guard let shape else { throw EntryError(tensor: name, reason: "'shape' must be an array of integers") }
            guard let offsets, offsets.count == 2 else {
                throw EntryError(tensor: name, reason: "'data_offsets' must be an array of two integers")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, offsets: offsets))
        }
    }
}

/// A malformed header entry.
private struct EntryError: Error {
    var tensor: String
    var reason: String
}
