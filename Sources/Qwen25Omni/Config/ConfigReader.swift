import OmniCore

/// Reads one JSON object of a config file strictly, naming the full dotted key path in every error
/// (`thinker_config.text_config.hidden_size`). Absent and `null` keys take the given default; keys
/// without a default are required.
struct ConfigReader {
    /// File name for errors.
    let file: String
    /// Dotted path of this object ("" at the top level).
    let path: String
    /// The object's members.
    let members: [String: JSONValue]

    init(file: String, path: String, value: JSONValue) throws {
        guard case let .object(o) = value else {
            throw OmniError.config(file: file, keyPath: path.isEmpty ? "(top level)" : path,
                                   expected: "object", actual: value.summary)
        }
        self.file = file
        self.path = path
        self.members = o
    }

    /// The dotted path of `key` in this object.
    func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A config error about `key`.
    func error(_ key: String, expected: String, actual: String) -> OmniError {
        .config(file: file, keyPath: keyPath(key), expected: expected, actual: actual)
    }

    /// The value of the first present, non-null key among `keys` (aliases), with the key that held it.
    func value(_ keys: [String]) -> (String, JSONValue)? {
        for k in keys { if let v = members[k], v != .null { return (k, v) } }
        return nil
    }

    func has(_ key: String) -> Bool { if let v = members[key] { return v != .null } else { return false } }

    private func required<T>(_ keys: [String], _ expected: String, _ d: T?) throws -> (String, JSONValue)? {
        if let kv = value(keys) { return kv }
        if d != nil { return nil }
        throw error(keys[0], expected: expected, actual: "missing")
    }

    /// An integer (a JSON number with no fraction).
    func int(_ keys: String..., default d: Int? = nil) throws -> Int {
        guard let (k, v) = try required(keys, "integer", d) else { return d ?? 0 }
        guard let i = Self.asInt(v) else { throw error(k, expected: "integer", actual: v.summary) }
        return i
    }

    /// An integer, or nil when absent or null.
    func optionalInt(_ keys: String...) throws -> Int? {
        guard let (k, v) = value(keys) else { return nil }
        guard let i = Self.asInt(v) else { throw error(k, expected: "integer", actual: v.summary) }
        return i
    }

    /// A number (integers accepted).
    func double(_ keys: String..., default d: Double? = nil) throws -> Double {
        guard let (k, v) = try required(keys, "number", d) else { return d ?? 0 }
        switch v {
        case let .int(i): return Double(i)
        case let .double(x): return x
        default: throw error(k, expected: "number", actual: v.summary)
        }
    }

    /// A boolean.
    func bool(_ keys: String..., default d: Bool? = nil) throws -> Bool {
        guard let (k, v) = try required(keys, "boolean", d) else { return d ?? false }
        guard case let .bool(b) = v else { throw error(k, expected: "boolean", actual: v.summary) }
        return b
    }

    /// A string.
    func string(_ keys: String..., default d: String? = nil) throws -> String {
        guard let (k, v) = try required(keys, "string", d) else { return d ?? "" }
        guard case let .string(s) = v else { throw error(k, expected: "string", actual: v.summary) }
        return s
    }

    /// A string, or nil when absent or null.
    func optionalString(_ key: String) throws -> String? {
        guard let (k, v) = value([key]) else { return nil }
        guard case let .string(s) = v else { throw error(k, expected: "string", actual: v.summary) }
        return s
    }

    /// An array of integers.
    func ints(_ keys: String..., default d: [Int]? = nil) throws -> [Int] {
        guard let (k, v) = try required(keys, "array of integers", d) else { return d ?? [] }
        return try intArray(v, key: k)
    }

    /// An array of integers, or nil when absent or null.
    func optionalInts(_ key: String) throws -> [Int]? {
        guard let (k, v) = value([key]) else { return nil }
        return try intArray(v, key: k)
    }

    /// An array of arrays of integers.
    func intArrays(_ key: String, default d: [[Int]]? = nil) throws -> [[Int]] {
        guard let (k, v) = try required([key], "array of arrays of integers", d) else { return d ?? [] }
        guard case let .array(rows) = v else {
            throw error(k, expected: "array of arrays of integers", actual: v.summary)
        }
        return try rows.enumerated().map { i, row in try intArray(row, key: "\(k)[\(i)]") }
    }

    /// A nested object's reader (required).
    func object(_ key: String) throws -> ConfigReader {
        guard let (k, v) = value([key]) else { throw error(key, expected: "object", actual: "missing") }
        return try ConfigReader(file: file, path: keyPath(k), value: v)
    }

    /// A nested object's reader, or nil when absent or null.
    func optionalObject(_ key: String) throws -> ConfigReader? {
        guard let (k, v) = value([key]) else { return nil }
        return try ConfigReader(file: file, path: keyPath(k), value: v)
    }

    private func intArray(_ v: JSONValue, key: String) throws -> [Int] {
        guard case let .array(items) = v else { throw error(key, expected: "array of integers", actual: v.summary) }
        return try items.enumerated().map { i, item in
            guard let n = Self.asInt(item) else {
                throw error("\(key)[\(i)]", expected: "integer", actual: item.summary)
            }
            return n
        }
    }

    static func asInt(_ v: JSONValue) -> Int? {
        switch v {
        case let .int(i): return i
        case let .double(d) where d.rounded() == d && abs(d) < 9e15: return Int(d)
        default: return nil
        }
    }

    /// Throws a constraint error on `key` unless `ok`.
    func check(_ ok: Bool, _ key: String, expected: @autoclosure () -> String,
               actual: @autoclosure () -> String) throws {
        if !ok { throw error(key, expected: expected(), actual: actual()) }
    }

    /// Throws unless `value > 0`.
    func positive(_ value: Int, _ key: String) throws {
        try check(value > 0, key, expected: "a positive integer", actual: "\(value)")
    }
}
