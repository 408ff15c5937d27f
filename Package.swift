// swift-tools-version:6.1
// swift-omni: load Hugging Face model directories and run Qwen2.5-Omni on CPU.
import PackageDescription

/// No target carries unsafe build flags: SwiftPM refuses them in any package that is not the root, so an app
/// could not depend on this one by version. C kernels pick their instruction set per function
/// (`__attribute__((target))`) and at run time (CKernels/dispatch.c); the Swift hot loops run over unsafe buffer
/// pointers, so plain `-O` costs them no bounds checks.

/// A runtime plugin target under Plugins/<name> (SwiftPM would treat Plugins/ as package plugins without `path:`).
func plugin(_ name: String, _ deps: [Target.Dependency] = []) -> Target {
    .target(name: name, dependencies: ["OmniCore"] + deps, path: "Plugins/\(name)")
}

let package = Package(
    name: "swift-omni",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "OmniCore", targets: ["OmniCore"]),
        .library(name: "OmniExec", targets: ["OmniExec"]),
        .library(name: "Qwen25Omni", targets: ["Qwen25Omni"]),
        .library(name: "BuiltinPlugins", targets: ["BuiltinPlugins"]),
        .library(name: "SwiftOmni", targets: ["SwiftOmni"]),
        .executable(name: "omni", targets: ["omni"]),
    ],
    // FFmpeg (on by default): JPEG, PNG, MP3, MP4… through FFmpeg's libraries and libjpeg (Debian's libav*-dev and
    // libjpeg-dev, found with pkg-config). Without it (`--disable-default-traits`) only WAV and PPM/PGM are read.
    traits: [
        .trait(name: "FFmpeg", description: "Decode images, audio and video with FFmpeg's libraries and libjpeg."),
        .default(enabledTraits: ["FFmpeg"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Core: types, protocols, registry, graph IR. Imports nothing of ours.
        .target(name: "OmniCore"),
        // System libraries.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat libavcodec libswscale libswresample libavutil",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libswresample-dev", "libavutil-dev"])]),
        .systemLibrary(name: "CLibJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        // libjpeg's longjmp error handling, in C.
        .target(name: "CMediaJPEG", dependencies: ["CLibJPEG"]),
        // C kernels with run-time CPU dispatch.
        .target(name: "CKernels"),
        // Our declarations of the CUDA driver, NVRTC and cuBLASLt functions we call, loaded with dlopen at run time.
        .target(name: "CCUDA"),
        // The one executor.
        .target(name: "OmniExec", dependencies: ["OmniCore", "CKernels", "CBLAS"]),
        // The model: configs, graph builders, tokenizer, processors, generation.
        // CKernels for C intrinsics with run-time dispatch, which Swift cannot express without unsafe flags: the bodies
        // of its fused ops' CPU kernels (BigVGAN's anti-aliased SnakeBeta) and the processors' bicubic image resize.
        .target(name: "Qwen25Omni", dependencies: ["OmniCore", "CKernels"]),

        // Runtime plugins.
        plugin("DTypeStandard", ["CKernels"]),
        plugin("FormatSafetensors"),
        plugin("FormatTorchPickle"),
        plugin("FormatGGUF"),
        plugin("FormatZstd", ["CZstd"]),
        plugin("AttentionEager", ["CBLAS", "CKernels"]),
        plugin("AttentionFlash2", ["CBLAS", "CKernels"]),
        plugin("PlacementStrategies"),
        plugin("MediaBasic"),
        plugin("MediaFFmpeg", ["CFFmpeg", "CMediaJPEG"]),
        // The CUDA device; its kernels are CUDA C in kernels/, embedded into a generated Swift file at build time.
        .target(name: "DeviceCUDA", dependencies: ["OmniCore", "CCUDA"], path: "Plugins/DeviceCUDA", exclude: ["kernels"],
                plugins: ["EmbedCUDAKernels"]),
        .plugin(name: "EmbedCUDAKernels", capability: .buildTool(), path: "BuildTools/EmbedCUDAKernels"),
        .target(name: "BuiltinPlugins", dependencies: [
            "OmniCore", "DTypeStandard", "FormatSafetensors", "FormatTorchPickle", "FormatGGUF", "FormatZstd",
            "AttentionEager", "AttentionFlash2", "PlacementStrategies", "MediaBasic", "DeviceCUDA",
            .target(name: "MediaFFmpeg", condition: .when(traits: ["FFmpeg"])),
        ], path: "Plugins/BuiltinPlugins"),

        // The umbrella an app imports: everything above plus fromPretrained with the built-in plugins.
        .target(name: "SwiftOmni", dependencies: ["OmniCore", "OmniExec", "Qwen25Omni", "BuiltinPlugins"]),

        // The CLI and composition root.
        .executableTarget(name: "omni", dependencies: [
            "OmniCore", "OmniExec", "Qwen25Omni", "BuiltinPlugins", "SwiftOmni", "CKernels", "FormatZstd", "CZstd",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Samples: real programs that CI builds.
        .executableTarget(name: "EmbedLoader", dependencies: ["SwiftOmni"],
                          path: "Samples/EmbedLoader"),
        .executableTarget(name: "CustomAttention", dependencies: ["SwiftOmni"],
                          path: "Samples/CustomAttention"),
        .executableTarget(name: "ConvertWeights", dependencies: ["SwiftOmni"],
                          path: "Samples/ConvertWeights"),

        // Tests.
        // The CUDA conformance suite as a program for the GPU machine (no XCTest there).
        .executableTarget(name: "cuda-check", dependencies: ["OmniCore", "OmniExec", "BuiltinPlugins", "DeviceCUDA",
            "OmniTestSupport", "Qwen25Omni"], path: "Tests/CUDACheck"),
        .target(name: "OmniTestSupport", dependencies: ["OmniCore", "FormatSafetensors"], path: "Tests/OmniTestSupport"),
        .testTarget(name: "OmniCoreTests", dependencies: ["OmniCore", "OmniTestSupport"]),
        .testTarget(name: "PluginTests", dependencies: ["OmniCore", "OmniTestSupport", "BuiltinPlugins",
            "DTypeStandard", "FormatSafetensors", "FormatTorchPickle", "FormatGGUF", "FormatZstd",
            "AttentionEager", "AttentionFlash2", "PlacementStrategies", "MediaBasic",
            .target(name: "MediaFFmpeg", condition: .when(traits: ["FFmpeg"]))]),
        .testTarget(name: "OmniExecTests", dependencies: ["OmniCore", "OmniExec", "OmniTestSupport", "BuiltinPlugins",
            "DeviceCUDA"]),
        .testTarget(name: "OmniCLITests", dependencies: ["omni", "OmniCore", "OmniTestSupport", "BuiltinPlugins", "Qwen25Omni"]),
        .testTarget(name: "Qwen25OmniTests", dependencies: ["OmniCore", "OmniExec", "Qwen25Omni", "OmniTestSupport",
            "BuiltinPlugins", "MediaBasic", "DeviceCUDA"], resources: []),
    ],
    // Swift 5 mode: the kernels share raw buffers across DispatchQueue.concurrentPerform workers by design
    // (disjoint ranges), which Swift 6's static data-race checking cannot express without unsafe wrappers.
    swiftLanguageModes: [.v5]
)
