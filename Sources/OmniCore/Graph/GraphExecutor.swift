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
    /// Where weights are read to on the host before a run binds them (defaults to `device`; a GPU executor answers
    /// the CPU, and uploads each weight once).
    var hostDevice: any Device { get }
    /// Runs `graph`. With a `bucket` (e.g. "thinker.decode") the plan is cached, keyed by the graph itself, and
    /// reused while the same graph comes back (a bucket keeps its latest plan only). `cache` is written and read by
    /// the graph's `cacheWrite` / `cachedAttention` nodes; each written slot grows by the step's length.
    func run(_ graph: Graph, bucket: String?, inputs: [String: Tensor], weights: any WeightProvider,
             cache: KVCache?, keep: Set<String>) throws -> GraphResult
    /// The element type of the KV caches sessions make for this executor (`KVCache.elementType`; f32 by default).
    var cacheDType: DType { get }
    /// Frees the buffers kept between runs for speed (the activation arena, which only grows, and scratch), so the
    /// next run allocates what it needs and a measurement sees one run's memory alone. Weights, plans and caches
    /// stay. Not while a run is in progress.
    func releaseBuffers()
}

extension GraphExecutor {
    /// f32, which every executor's cache kernels read.
    public var cacheDType: DType { .f32 }
    /// An executor that keeps nothing between runs has nothing to free.
    public func releaseBuffers() {}
}
