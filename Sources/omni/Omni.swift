import ArgumentParser
import BuiltinPlugins
import OmniCore

/// `omni`: load and run Qwen2.5-Omni checkpoints on CPU.
@main
struct Omni: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omni",
        abstract: "Load Hugging Face Qwen2.5-Omni checkpoints and run them on CPU.",
        subcommands: [
            PluginsCommand.self,
            InspectCommand.self,
            PlanCommand.self,
            TokenizeCommand.self, DetokenizeCommand.self,
            PreprocessCommand.self, ForwardCommand.self, GenerateCommand.self, TalkCommand.self,
            ConvertCommand.self,
            BenchCommand.self,
        ]
    )
}

/// The composition root: the one place the CLI registers plugins.
enum Composition {
    static func registry() -> PluginRegistry { BuiltinPlugins.registry() }
}
