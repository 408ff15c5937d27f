import Foundation
import OmniCore

extension LoadPlan {
    /// Plans the model `idOrPath` (a folder, a weight file's folder, or `org/name` in the Hugging Face cache at
    /// `options.revision`) from its config and tensor headers alone: no tensor data is read. `omni plan` is
    /// this call and a print. `allComponents` plans every component in the checkpoint, including those this
    /// version does not build yet (`OmniModel.builtComponents` otherwise). `computeDevice`: the GPU that will run
    /// every graph (see `LoadPlan.computeDevice`).
    public static func make(model idOrPath: String, options: LoadOptions, input: InputSize, registry: PluginRegistry,
                            explicitPlacement: (([String: DeviceID]) -> any PlacementStrategy)? = nil,
                            allComponents: Bool = false, computeDevice: DeviceID? = nil) throws -> LoadPlan {
        let directory = try ModelDirectory.resolve(idOrPath, revision: options.revision)
        let source = try registry.weightFormat(for: directory.url).open(directory.url)
        let infos = source.names.compactMap { source.info($0) }
        return try make(directory: directory, infos: infos, options: options, input: input, registry: registry,
                        explicitPlacement: explicitPlacement,
                        components: allComponents ? Set(Component.allCases) : OmniModel.builtComponents,
                        computeDevice: computeDevice)
    }
}
