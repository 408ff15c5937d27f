/// The precision a device computes GEMMs in (accumulation is f32 in both).
public enum ComputePrecision: String, Sendable, Hashable, CaseIterable {
    /// Weights widened to f32, f32 GEMMs without TF32: the parity mode.
    case f32
    /// Weights kept bf16, activations rounded to bf16 before each GEMM, f32 output: the speed mode.
    case bf16
}

/// One device a `ComputeDevicePlugin` found.
public struct ComputeDeviceInfo: Sendable, Hashable, CustomStringConvertible {
    /// `cuda:0`.
    public var id: DeviceID
    /// Product name (`NVIDIA H200`).
    public var name: String
    /// Total memory in bytes.
    public var totalMemory: Int
    /// Architecture, as the vendor spells it (`sm_90`).
    public var architecture: String

    public init(id: DeviceID, name: String, totalMemory: Int, architecture: String) {
        self.id = id
        self.name = name
        self.totalMemory = totalMemory
        self.architecture = architecture
    }

    public var description: String { "\(id): \(name), \(architecture), \(ByteCount(totalMemory))" }
}

/// What a probe found: devices, or the reason there are none ("no GPU: libcuda.so.1 not found").
public enum ComputeDeviceProbe: Sendable {
    case available([ComputeDeviceInfo])
    case unavailable(reason: String)

    /// The devices (empty when unavailable).
    public var devices: [ComputeDeviceInfo] {
        if case let .available(d) = self { return d }
        return []
    }
}

/// How to make an executor on a compute device.
public struct ComputeExecutorOptions: Sendable {
    /// Byte budget of the device (`--max-memory cuda:0=20GiB`), or nil for all of it.
    public var budget: Int?
    /// GEMM precision.
    public var precision: ComputePrecision
    /// The host device that weights are read into before they are uploaded (the CPU, with its budget).
    public var host: any Device

    public init(budget: Int? = nil, precision: ComputePrecision = .f32, host: any Device) {
        self.budget = budget
        self.precision = precision
        self.host = host
    }
}

/// A kind of device that runs graphs (CUDA): it says whether devices are present (and why not), and makes an
/// executor for one. Registered in the one plugin list; the loader asks it when a device map names its kind.
public protocol ComputeDevicePlugin: Sendable {
    /// The device kind it serves, as device ids spell it (`cuda`).
    var deviceKind: String { get }
    /// The devices present, or why there are none. Cheap after the first call.
    func probe() -> ComputeDeviceProbe
    /// An executor whose device is `cuda:index`; throws naming the device when it is absent.
    func makeExecutor(index: Int, options: ComputeExecutorOptions, registry: PluginRegistry) throws
        -> any GraphExecutor & Backend
    /// The memory one run of `graph` takes on this kind of device besides weights and KV caches, as its executor
    /// allocates it (its own arena plan, attention scratch, staging), for planning without a device: `cachedRows`
    /// KV rows before the run, `weightDType` the dtype each weight key is stored in after the load's policy. Nil
    /// (the default): the CPU executor's figure stands.
    func runMemory(graph: Graph, keep: Set<String>, cachedRows: Int, precision: ComputePrecision,
                   weightDType: (String) -> DType) -> RunMemory?
}

extension ComputeDevicePlugin {
    public func runMemory(graph: Graph, keep: Set<String>, cachedRows: Int, precision: ComputePrecision,
                          weightDType: (String) -> DType) -> RunMemory? { nil }
}

extension GraphExecutor {
    /// The device that weights are read into on the host before a run binds them (the executor's own device when it
    /// is the CPU).
    public var hostDevice: any Device { device }
}
