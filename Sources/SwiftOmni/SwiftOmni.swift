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
        let cpu = CPUDevice(budget: options.maxMemory[.cpu])
        var options = options
        let executor: any GraphExecutor
        if let gpu = try ComputeSelection.device(for: options.deviceMap, registry: registry) {
            let plugin = try registry.computeDevice(kind: gpu.kind)
            executor = try plugin.makeExecutor(index: gpu.index ?? 0, options: ComputeExecutorOptions(
                budget: options.maxMemory[gpu], precision: options.computePrecision, host: cpu), registry: registry)
            // The device map named the GPU itself: weights are placed (read and paged) on the host as `auto` places
            // them, then uploaded to the GPU and kept there.
            if case let .strategy(s) = options.deviceMap, s != "auto" { options.deviceMap = .strategy("auto") }
        } else {
            executor = Executor(registry: registry, device: cpu, threads: threads)
        }
        return try fromPretrained(idOrPath, options: options, registry: registry, executor: executor,
                                  explicitPlacement: BuiltinPlugins.explicitPlacement(map:))
    }
}

/// Which compute device a device map asks for.
public enum ComputeSelection {
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
