/// Every error swift-omni throws: each case names the file, key or argument and what was expected.
public enum OmniError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A weight file is malformed. `tensor` is nil when the problem is not about one tensor.
    case weightFile(file: String, tensor: String?, reason: String)
    /// A tensor the model needs is absent from the checkpoint.
    case missingTensor(key: String, file: String?)
    /// Tensors the model does not use (strict loading).
    case unusedTensors(keys: [String])
    /// A tensor has the wrong shape.
    case shapeMismatch(key: String, expected: Shape, actual: Shape)
    /// A tensor has a dtype the caller cannot take.
    case dtypeMismatch(key: String, expected: String, actual: DType)
    /// A config key is missing or mistyped; `keyPath` is dotted (`thinker_config.text_config.hidden_size`).
    case config(file: String, keyPath: String, expected: String, actual: String)
    /// A plugin lookup failed; lists what is registered.
    case pluginNotFound(kind: String, name: String, registered: [String])
    /// No registered plugin can do what was asked; `reasons` says why each declined.
    case unsupported(what: String, reasons: [String])
    /// A bad argument or input (`--max-memory`, an inputs file…).
    case invalidArgument(name: String, expected: String, actual: String)
    /// The file system refused.
    case io(path: String, reason: String)
    /// A media file (image, audio, video) is malformed, unsupported, or outside `MediaLimits`.
    case media(file: String, reason: String)
    /// A model id or path could not be resolved; `tried` lists every place looked at.
    case modelNotFound(id: String, tried: [String], hint: String)
    /// An allocation would exceed a device budget.
    case outOfMemory(device: String, kind: String, requested: Int, inUse: Int, budget: Int)
    /// Placement cannot fit the units under the budgets; `smallestBudgets` lists single changes that would
    /// work (`cpu=1.20 GiB`), each with the other budgets unchanged.
    case placement(strategy: String, reason: String, smallestBudgets: [String])
    /// The caller cancelled the operation.
    case cancelled

    public var description: String {
        switch self {
        case let .weightFile(file, tensor, reason):
            return "\(file)" + (tensor.map { ": tensor '\($0)'" } ?? "") + ": \(reason)"
        case let .missingTensor(key, file):
            return "missing tensor '\(key)'" + (file.map { " in \($0)" } ?? "")
        case let .unusedTensors(keys):
            let shown = keys.prefix(8).joined(separator: ", ")
            return "\(keys.count) tensor(s) in the checkpoint are not used by the model: \(shown)"
                + (keys.count > 8 ? ", …" : "")
        case let .shapeMismatch(key, expected, actual):
            return "tensor '\(key)': expected shape \(expected), got \(actual)"
        case let .dtypeMismatch(key, expected, actual):
            return "tensor '\(key)': expected dtype \(expected), got \(actual)"
        case let .config(file, keyPath, expected, actual):
            return "\(file): key '\(keyPath)': expected \(expected), got \(actual)"
        case let .pluginNotFound(kind, name, registered):
            return "no \(kind) named '\(name)'; registered: "
                + (registered.isEmpty ? "(none)" : registered.joined(separator: ", "))
        case let .unsupported(what, reasons):
            return "\(what) is not supported" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
        case let .invalidArgument(name, expected, actual):
            return "argument \(name): expected \(expected), got \(actual)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        case let .media(file, reason):
            return "\(file): \(reason)"
        case let .modelNotFound(id, tried, hint):
            return "model '\(id)' not found. Looked in:\n" + tried.map { "  - \($0)" }.joined(separator: "\n")
                + "\n\(hint)"
        case let .outOfMemory(device, kind, requested, inUse, budget):
            return "\(device): allocating \(ByteCount(requested)) of \(kind) would exceed the budget "
                + "(\(ByteCount(inUse)) in use of \(ByteCount(budget)))"
        case let .placement(strategy, reason, smallest):
            return "device map '\(strategy)': \(reason)"
                + (smallest.isEmpty ? "" : "; smallest budget that would work: " + smallest.joined(separator: " or "))
        case .cancelled:
            return "cancelled"
        }
    }
}
