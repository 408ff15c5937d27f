import Foundation
import PackagePlugin

/// Embeds the CUDA plugin's kernel sources (`kernels/*.cu` of the target, `common.cu` first, then by name) into a
/// generated `CUDAKernelSource.swift` in the build folder, so the plugin carries its CUDA C and NVRTC compiles it at
/// run time, and the repository holds the `.cu` files only. The work is `scripts/embed_cuda_kernels.sh`, run again
/// whenever a `.cu` file or the script changes.
@main
struct EmbedCUDAKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let kernels = module.directoryURL.appending(path: "kernels")
        let sources = try FileManager.default.contentsOfDirectory(at: kernels, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "cu" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let script = context.package.directoryURL.appending(path: "scripts/embed_cuda_kernels.sh")
        let output = context.pluginWorkDirectoryURL.appending(path: "CUDAKernelSource.swift")
        return [.buildCommand(displayName: "Embedding \(sources.count) CUDA kernel files of \(target.name)",
                              executable: URL(fileURLWithPath: "/bin/bash"),
                              arguments: [script.path, kernels.path, output.path],
                              inputFiles: sources + [script], outputFiles: [output])]
    }
}
