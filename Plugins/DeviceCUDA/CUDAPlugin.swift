import OmniCore

/// The CUDA compute device: finds NVIDIA GPUs through the driver (loaded at run time) and makes a `CUDAExecutor`
/// for one. Without a driver, NVRTC, cuBLASLt or a device, `probe()` says which is missing.
public struct CUDAPlugin: ComputeDevicePlugin {
    public init() {}
    public var deviceKind: String { "cuda" }

    public func probe() -> ComputeDeviceProbe { Self.probed }
    private static let probed: ComputeDeviceProbe = CUDAContext.probe()

    public func makeExecutor(index: Int, options: ComputeExecutorOptions, registry: PluginRegistry) throws
        -> any GraphExecutor & Backend {
        try CUDAExecutor(ordinal: index, registry: registry, precision: options.precision, budget: options.budget,
                         host: options.host)
    }
}
