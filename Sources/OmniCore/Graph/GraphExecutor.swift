/// The results of one graph run: outputs and kept intermediates by node name.
public struct GraphResult: @unchecked Sendable {
    /// Copies of the requested values (contiguous f32).
    public var values: [String: Tensor]
    /// Which attention backend ran where, and why others were skipped.
    public var attentionLog: [String]
    public init(values: [String: Tensor], attentionLog: [String]) {
        self.values = values
        self.attentionLog = attentionLog
    }
    public subscript(name: String) -> Tensor? { values[name] }
}

/// Runs graphs. Model code (Qwen25Omni) talks to this protocol only; OmniExec provides the CPU executor,
/// and a GPU executor can conform later without model changes.
public protocol GraphExecutor: AnyObject, Sendable {
    /// The device activations and caches are allocated on.
    var device: any Device { get }
    /// Runs `graph`; `bucket` names its shape bucket so the plan is made once and reused.
    /// `cache` serves attention nodes with a cache slot and is advanced by this step's length.
    func run(_ graph: Graph, bucket: String?, inputs: [String: Tensor], weights: any WeightProvider,
             cache: KVCache?, keep: Set<String>) throws -> GraphResult
}
