@_exported import BuiltinPlugins
@_exported import OmniCore
@_exported import OmniExec
@_exported import Qwen25Omni

extension OmniModel {
    /// Loads a model with the built-in plugins (or `registry`) on the CPU executor:
    /// `try OmniModel.fromPretrained("Qwen/Qwen2.5-Omni-7B", options: LoadOptions(dtype: DTypePolicy(.bf16)))`.
    /// The CPU device's budget is `options.maxMemory[.cpu]`.
    public static func fromPretrained(_ idOrPath: String, options: LoadOptions = LoadOptions(),
                                      registry: PluginRegistry = BuiltinPlugins.registry(),
                                      threads: Int? = nil) throws -> OmniModel {
        let executor = Executor(registry: registry, device: CPUDevice(budget: options.maxMemory[.cpu]), threads: threads)
        return try fromPretrained(idOrPath, options: options, registry: registry, executor: executor,
                                  explicitPlacement: BuiltinPlugins.explicitPlacement(map:))
    }
}
