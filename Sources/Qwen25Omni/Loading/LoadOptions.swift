import OmniCore

/// Options of `OmniModel.fromPretrained`, in transformers' vocabulary:
/// `torch_dtype` → `dtype`, `attn_implementation` → `attention`, `device_map` → `deviceMap`,
/// `max_memory` → `maxMemory`, `revision`, `enable_audio_output`.
public struct LoadOptions: Sendable {
    /// dtype per component (`auto` keeps the checkpoint's; token2wav is always f32).
    public var dtype: DTypePolicy
    /// Attention implementation for every component unless overridden (`flash_attention_2`, `eager`, or a
    /// backend the app registered); falls back along the chain with a logged reason.
    public var attention: String
    /// Per-component attention overrides.
    public var attentionPerComponent: [Component: String]
    /// Placement strategy name (`auto`, `cpu`, `sequential`, `balanced`) or explicit map by module prefix.
    public var deviceMap: DeviceMap
    /// Budget per device (`cpu`, `disk`, later `cuda:N`), in bytes.
    public var maxMemory: [DeviceID: Int]
    /// Branch, tag or commit in the Hugging Face cache.
    public var revision: String?
    /// Build the talker and token2wav (false saves their memory).
    public var enableAudioOutput: Bool
    /// Called as loading advances (bytes mapped, converted).
    public var progress: (@Sendable (LoadProgress) -> Void)?
    /// Polled during loading and generation; true aborts with `OmniError.cancelled`.
    public var isCancelled: @Sendable () -> Bool
    /// Page in the CPU-placed weights at load (as `from_pretrained` does), so resident memory matches the plan
    /// from the start; false leaves them to be paged in on first use.
    public var preload: Bool = true
    /// The input size placement plans KV-cache and activation memory for.
    public var plannedInput: InputSize = InputSize()
    /// GEMM precision on a compute device (GPU): f32 (parity) or bf16 (speed). The CPU ignores it.
    public var computePrecision: ComputePrecision = .f32

    public init(dtype: DTypePolicy = .auto, attention: String = "flash_attention_2",
                attentionPerComponent: [Component: String] = [:], deviceMap: DeviceMap = .strategy("auto"),
                maxMemory: [DeviceID: Int] = [:], revision: String? = nil, enableAudioOutput: Bool = true,
                progress: (@Sendable (LoadProgress) -> Void)? = nil,
                isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.dtype = dtype
        self.attention = attention
        self.attentionPerComponent = attentionPerComponent
        self.deviceMap = deviceMap
        self.maxMemory = maxMemory
        self.revision = revision
        self.enableAudioOutput = enableAudioOutput
        self.progress = progress
        self.isCancelled = isCancelled
    }

    /// The backend chain for `component`: the requested backend, then `eager` (the oracle supports everything).
    public func attentionChain(for component: Component) -> [String] {
        let first = attentionPerComponent[component] ?? attention
        return first == "eager" ? ["eager"] : [first, "eager"]
    }
}

/// `device_map`: a strategy name or an explicit map from module prefix to device.
public enum DeviceMap: Sendable, Hashable {
    case strategy(String)
    case explicit([String: DeviceID])
}

/// A loading progress event.
public struct LoadProgress: Sendable {
    /// What is happening (`resolving`, `mapping`, `checking`).
    public var stage: String
    /// Bytes done and total for this stage (0 when not applicable).
    public var done: Int
    public var total: Int
}
