@_exported import BuiltinPlugins
@_exported import OmniCore
@_exported import OmniExec
@_exported import Qwen25Omni

extension OmniModel {
    /// Loads a model with the built-in plugins (or `registry`):
    /// `try OmniModel.fromPretrained("Qwen/Qwen2.5-Omni-7B", options: LoadOptions(dtype: DTypePolicy(.bf16)))`.
    ///
    /// Where it computes follows `options.deviceMap` (see `ComputeSelection`): a GPU (`cuda:0`, or `auto` when one is
    /// present) runs every graph through its compute device plugin, weights resident on it and GEMMs in
    /// `options.computePrecision`; otherwise the CPU executor. The CPU's budget is `options.maxMemory[.cpu]`, a GPU's
    /// `options.maxMemory[cuda:N]`.
    public static func fromPretrained(_ idOrPath: String, options: LoadOptions = LoadOptions(),
                                      registry: PluginRegistry = BuiltinPlugins.registry(),
                                      threads: Int? = nil) throws -> OmniModel {
        let executor = try ComputeSelection.executor(for: options.deviceMap, registry: registry, maxMemory: options.maxMemory,
                                                     precision: options.computePrecision, threads: threads)
        let options = ComputeSelection.hostPlacement(options, computeDevice: executor.device.id == .cpu ? nil : executor.device.id)
        return try fromPretrained(idOrPath, options: options, registry: registry, executor: executor,
                                  explicitPlacement: BuiltinPlugins.explicitPlacement(map:))
    }
}

extension LoadPlan {
    /// `omni plan`'s call: the plan `OmniModel.fromPretrained` would make with the built-in plugins, the compute device included
    /// (`ComputeSelection.plannedDevice`: a GPU named in the device map is planned for without being present).
    public static func forPretrained(_ idOrPath: String, options: LoadOptions, input: InputSize,
                                     registry: PluginRegistry = BuiltinPlugins.registry(), allComponents: Bool = false) throws -> LoadPlan {
        let gpu = try ComputeSelection.plannedDevice(for: options.deviceMap, registry: registry)
        return try make(model: idOrPath, options: ComputeSelection.hostPlacement(options, computeDevice: gpu), input: input,
                        registry: registry, explicitPlacement: BuiltinPlugins.explicitPlacement(map:),
                        allComponents: allComponents, computeDevice: gpu)
    }
}

/// Which compute device a device map asks for.
public enum ComputeSelection {
    /// `options` with the host placement a GPU run uses: a device map that names the GPU itself (`cuda:0`) places
    /// weights (read and paged) on the host as `auto` does; they are then uploaded to the GPU and kept there.
    public static func hostPlacement(_ options: LoadOptions, computeDevice: DeviceID?) -> LoadOptions {
        var options = options
        if computeDevice != nil, case let .strategy(s) = options.deviceMap, s != "auto" { options.deviceMap = .strategy("auto") }
        return options
    }

    /// The GPU a plan for `deviceMap` computes on: as `device(for:registry:)`, except that a GPU named in the map
    /// (`cuda:1`, `thinker=cuda:0`) is planned for without probing it (plans read headers only and may be made on
    /// another machine); `auto` takes the first GPU present.
    public static func plannedDevice(for deviceMap: DeviceMap, registry: PluginRegistry) throws -> DeviceID? {
        func isCompute(_ d: DeviceID) -> Bool { registry.computeDevices.contains { $0.deviceKind == d.kind } }
        switch deviceMap {
        case let .strategy(s):
            if s == "auto" { return try device(for: deviceMap, registry: registry) }
            guard let d = DeviceID(parsing: s), isCompute(d) else { return nil }
            return DeviceID(d.kind, index: d.index ?? 0)
        case let .explicit(map):
            return map.values.filter(isCompute).sorted().first.map { DeviceID($0.kind, index: $0.index ?? 0) }
        }
    }

    /// The executor for `deviceMap`: the selected GPU's (budget `maxMemory[cuda:N]`, GEMMs in `precision`, weights read
    /// on a CPU device with budget `maxMemory[.cpu]`), else the CPU executor with `threads` workers and GEMMs in
    /// `precision` (bf16 where the CPU has AMX-BF16, see `Executor.precision`).
    public static func executor(for deviceMap: DeviceMap, registry: PluginRegistry, maxMemory: [DeviceID: Int] = [:],
                                precision: ComputePrecision = .f32, threads: Int? = nil) throws -> any GraphExecutor {
        let cpu = CPUDevice(budget: maxMemory[.cpu])
        guard let gpu = try device(for: deviceMap, registry: registry) else {
            return Executor(registry: registry, device: cpu, threads: threads, precision: precision)
        }
        return try registry.computeDevice(kind: gpu.kind).makeExecutor(
            index: gpu.index ?? 0, options: ComputeExecutorOptions(budget: maxMemory[gpu], precision: precision, host: cpu),
            registry: registry)
    }

    /// The GPU `deviceMap` selects, or nil for the CPU: `cuda:N` (an error naming why when it is absent), `auto` (the
    /// first device a registered compute plugin finds, else the CPU), or an explicit map naming a GPU.
    public static func device(for deviceMap: DeviceMap, registry: PluginRegistry) throws -> DeviceID? {
        func isCompute(_ d: DeviceID) -> Bool { registry.computeDevices.contains { $0.deviceKind == d.kind } }
        func require(_ d: DeviceID) throws -> DeviceID {
            let plugin = try registry.computeDevice(kind: d.kind)
            switch plugin.probe() {
            case let .unavailable(reason):
                throw OmniError.unsupported(what: "device \(d)", reasons: [reason])
            case let .available(devices):
                guard devices.contains(where: { $0.id == DeviceID(d.kind, index: d.index ?? 0) }) else {
                    throw OmniError.invalidArgument(name: "--device-map", expected: devices.map(\.id.description).joined(separator: ", "),
                                                    actual: "\(d)")
                }
                return DeviceID(d.kind, index: d.index ?? 0)
            }
        }
        switch deviceMap {
        case let .strategy(s):
            if s == "auto" {
                for p in registry.computeDevices { if let first = p.probe().devices.first { return first.id } }
                return nil
            }
            if let d = DeviceID(parsing: s), isCompute(d) { return try require(d) }
            return nil
        case let .explicit(map):
            if let d = map.values.filter(isCompute).sorted().first { return try require(d) }
            return nil
        }
    }
}
