import OmniCore

/// A value the restricted unpickler can build. Containers live in a `PickleArena` and are referred to by
/// index, so hostile nesting or cycles can neither recurse nor leak: every value is flat.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Int)
    /// Index into `PickleArena.lists`.
    case list(Int)
    /// Index into `PickleArena.tuples`.
    case tuple(Int)
    /// Index into `PickleArena.dicts`.
    case dict(Int)
    /// One of the few globals we accept (never called; the unpickler interprets it).
    case global(TorchGlobal)
    /// A storage reference from `persistent_load`.
    case storage(TorchStorageRef)
    /// A tensor from `torch._utils._rebuild_tensor_v2`.
    case tensor(TorchTensorRef)
}

/// Every container an unpickled object graph holds.
struct PickleArena {
    /// Lists (mutable: APPEND, APPENDS).
    var lists: [[PickleValue]] = []
    /// Tuples.
    var tuples: [[PickleValue]] = []
    /// Dicts in insertion order (mutable: SETITEM, SETITEMS).
    var dicts: [PickleDict] = []
}

/// An insertion-ordered dict with a lookup index for string and integer keys.
struct PickleDict {
    /// Keys in insertion order.
    var keys: [PickleValue] = []
    /// Values, parallel to `keys`.
    var values: [PickleValue] = []
    private var index: [String: Int] = [:]

    /// Sets `key` to `value`, replacing an earlier value for an equal string/int key (Python semantics).
    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        if let k = Self.hashKey(key), let i = index[k] { values[i] = value; return }
        if let k = Self.hashKey(key) { index[k] = keys.count }
        keys.append(key)
        values.append(value)
    }

    private static func hashKey(_ v: PickleValue) -> String? {
        switch v {
        case .string(let s): return "s" + s
        case .int(let i): return "i\(i)"
        default: return nil
        }
    }
}

/// The globals a state dict needs. Everything else is refused by name.
enum TorchGlobal {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    /// `torch.FloatStorage` and friends; `dtype` is nil for element types we do not hold (`DoubleStorage`).
    case storageType(name: String, dtype: DType?)

    /// The allowed global `module.name`, or nil.
    static func allowed(module: String, name: String) -> TorchGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", _) where name.hasSuffix("Storage"):
            let dtypes: [String: DType] = [
                "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "LongStorage": .i64,
                "IntStorage": .i32, "CharStorage": .i8, "ByteStorage": .u8, "BoolStorage": .bool,
            ]
            let known: Set<String> = ["DoubleStorage", "ShortStorage", "ComplexFloatStorage", "ComplexDoubleStorage",
                                      "QInt8Storage", "QUInt8Storage", "QInt32Storage"]
            if let d = dtypes[name] { return .storageType(name: name, dtype: d) }
            return known.contains(name) ? .storageType(name: name, dtype: nil) : nil
        default: return nil
        }
    }

    /// The allowed globals, for error messages.
    static let allowedList = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
        + "torch._utils._rebuild_parameter, torch.*Storage"
}

/// `('storage', storage_type, key, location, numel)` from `persistent_load`.
struct TorchStorageRef {
    /// Storage class name (`FloatStorage`).
    var typeName: String
    /// Element type, nil when unsupported.
    var dtype: DType?
    /// Archive member holding the bytes: `<prefix>/data/<key>`.
    var key: String
    /// Number of elements.
    var numel: Int
}

/// A tensor view of a storage: `_rebuild_tensor_v2(storage, offset, size, stride, ...)`.
struct TorchTensorRef {
    /// The storage.
    var storage: TorchStorageRef
    /// Element offset into the storage.
    var offset: Int
    /// Shape, outermost first.
    var size: [Int]
    /// Element strides.
    var stride: [Int]
}
