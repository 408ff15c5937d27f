import OmniCore

/// A PyTorch zip checkpoint read from a mapped file: the unpickled object graph flattened into dotted
/// names, tensors as views of the archive's stored members, other leaves as text.
struct TorchCheckpoint {
    /// Deepest nesting of dicts/lists we follow.
    static let maxDepth = 64

    /// Tensor name → (info, strided view parameters).
    var tensors: [String: (info: TensorInfo, offset: Int, strides: [Int])] = [:]
    /// Non-tensor leaves (`Chelsie.bos_token` → `2038`).
    var metadata: [String: String] = [:]

    /// Parses `file`: zip directory, `*/data.pkl` through the restricted unpickler, then flattening.
    init(file: MappedFile) throws {
        let path = file.path
        func fail(_ reason: String, _ tensor: String? = nil) -> OmniError {
            .weightFile(file: path, tensor: tensor, reason: reason)
        }
        let reader = try ByteReader(path: path, size: file.byteCount)
        if reader.u32(0) != 0x0403_4b50 {
            if reader.bytes(0, 1) == [0x80] {
                throw fail("legacy torch format (not a zip archive); re-save with torch>=1.6")
            }
            throw fail("not a PyTorch zip checkpoint (bad magic)")
        }
        let zip = try ZipArchive(file: file, reader: reader)
        let pickles = zip.entries.keys.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/").count == 2 }
        guard pickles.count == 1, let pkl = pickles.first, let entry = zip.entries[pkl] else {
            throw fail("expected exactly one <name>/data.pkl in the archive, found \(pickles.count)")
        }
        let prefix = String(pkl.dropLast("data.pkl".count))
        if let order = zip.entries[prefix + "byteorder"] {
            let s = String(decoding: reader.bytes(order.dataRange.lowerBound, order.dataRange.count) ?? [], as: UTF8.self)
            guard s == "little" else { throw fail("byteorder '\(s)' is not supported (little-endian only)") }
        }
        guard let pickle = reader.bytes(entry.dataRange.lowerBound, entry.dataRange.count) else {
            throw fail("cannot read \(pkl)")
        }
        let root: PickleValue
        let arena: PickleArena
        (root, arena) = try pickle.withUnsafeBytes { buf in
            var unpickler = Unpickler(bytes: buf, file: path, member: pkl)
            let root = try unpickler.load()
            return (root, unpickler.arena)
        }
        var walker = Flattener(arena: arena, archive: zip, prefix: prefix, file: file,
                               budget: pickle.count + Self.maxDepth + 1)
        try walker.walk(root, name: "", depth: 0)
        tensors = walker.tensors
        metadata = walker.metadata
    }
}

/// Walks an unpickled graph depth-first, naming leaves by their dotted path.
private struct Flattener {
    let arena: PickleArena
    let archive: ZipArchive
    let prefix: String
    let file: MappedFile
    /// Values the walk may still visit. Every value costs the pickle at least one opcode byte unless it is
    /// shared (memo), so a walk longer than the pickle means shared containers (`l = [l0, l0]`, nested 60
    /// deep, would name 2^60 leaves). The extra `maxDepth + 1` lets a cycle reach the depth check first.
    var budget: Int
    var tensors: [String: (info: TensorInfo, offset: Int, strides: [Int])] = [:]
    var metadata: [String: String] = [:]

    private func fail(_ reason: String, _ tensor: String?) -> OmniError {
        .weightFile(file: file.path, tensor: tensor?.isEmpty == true ? nil : tensor, reason: reason)
    }

    private func join(_ name: String, _ key: String) -> String { name.isEmpty ? key : name + "." + key }

    mutating func walk(_ v: PickleValue, name: String, depth: Int) throws {
        guard depth <= TorchCheckpoint.maxDepth else {
            let top = name.split(separator: ".").first.map(String.init)
            throw fail("nested deeper than \(TorchCheckpoint.maxDepth) levels (or a cycle)", top)
        }
        budget -= 1
        guard budget >= 0 else {
            throw fail("the pickle reuses containers so often that flattening it would visit more values than "
                       + "the pickle has bytes", name.split(separator: ".").first.map(String.init))
        }
        switch v {
        case .dict(let i):
            let d = arena.dicts[i]
            for (k, value) in zip(d.keys, d.values) {
                let key: String
                switch k {
                case .string(let s): key = s
                case .int(let n): key = String(n)
                default: throw fail("dict key is neither a string nor an integer", name)
                }
                try walk(value, name: join(name, key), depth: depth + 1)
            }
        case .list(let i):
            for (j, e) in arena.lists[i].enumerated() { try walk(e, name: join(name, String(j)), depth: depth + 1) }
        case .tuple(let i):
            for (j, e) in arena.tuples[i].enumerated() { try walk(e, name: join(name, String(j)), depth: depth + 1) }
        case .tensor(let t): try addTensor(t, name: name)
        case .none: try leaf(name, "null")
        case .bool(let b): try leaf(name, b ? "true" : "false")
        case .int(let n): try leaf(name, String(n))
        case .float(let x): try leaf(name, String(x))
        case .string(let s): try leaf(name, s)
        case .bytes(let n): try leaf(name, "<\(n) bytes>")
        case .global, .storage: throw fail("a bare global or storage is not a value", name)
        }
    }

    private mutating func leaf(_ name: String, _ value: String) throws {
        guard !name.isEmpty else { throw fail("the checkpoint is a single value, not a dict", nil) }
        guard tensors[name] == nil, metadata[name] == nil else { throw fail("name appears twice", name) }
        metadata[name] = value
    }

    private mutating func addTensor(_ t: TorchTensorRef, name: String) throws {
        guard !name.isEmpty else { throw fail("the checkpoint is a single tensor, not a dict", nil) }
        guard tensors[name] == nil, metadata[name] == nil else { throw fail("name appears twice", name) }
        guard let dtype = t.storage.dtype else {
            throw fail("unsupported dtype (storage torch.\(t.storage.typeName))", name)
        }
        let member = prefix + "data/" + t.storage.key
        guard let entry = archive.entries[member] else { throw fail("storage member \(member) is missing", name) }
        let es = dtype.blockBytes
        guard let storageBytes = dtype.byteCount(elements: t.storage.numel), storageBytes <= entry.dataRange.count else {
            throw fail("storage of \(t.storage.numel) \(dtype) elements does not fit member \(member) "
                       + "(\(entry.dataRange.count) bytes)", name)
        }
        guard t.size.count == t.stride.count, t.size.allSatisfy({ $0 >= 0 }), t.stride.allSatisfy({ $0 >= 0 }),
              t.offset >= 0 else {
            throw fail("size \(t.size) / stride \(t.stride) / offset \(t.offset) are inconsistent", name)
        }
        let shape = Shape(t.size)
        guard let count = shape.checkedElementCount, shape.stridesFit else { throw fail("shape \(shape) overflows", name) }
        // Elements reached: offset + Σ (size_i − 1) · stride_i must stay inside the storage.
        var span = 0   // in elements, one past the last reached
        if count > 0 {
            var last = t.offset
            for (s, st) in zip(t.size, t.stride) {
                let (m, o1) = (s - 1).multipliedReportingOverflow(by: st)
                let (sum, o2) = last.addingReportingOverflow(m)
                guard !o1, !o2 else { throw fail("strides overflow", name) }
                last = sum
            }
            guard last < t.storage.numel else {
                throw fail("view (offset \(t.offset), size \(t.size), stride \(t.stride)) reaches past the "
                           + "storage of \(t.storage.numel) elements", name)
            }
            span = last + 1 - t.offset
        }
        // An empty view reaches no element, so its offset (unchecked above) is not used.
        let offsetBytes = count > 0 ? t.offset * es : 0
        let start = entry.dataRange.lowerBound + offsetBytes
        let info = TensorInfo(name: name, dtype: dtype, shape: shape, file: file.path,
                              byteRange: start..<(start + span * es))
        tensors[name] = (info, offsetBytes, t.stride)
    }
}
