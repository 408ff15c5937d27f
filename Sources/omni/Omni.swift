#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import BuiltinPlugins
import Foundation
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
            PreprocessCommand.self, ForwardCommand.self, GenerateCommand.self,
            ConvertCommand.self,
            BenchCommand.self,
        ]
    )

    /// Parses, runs, then flushes and checks standard output: every exit is 0 (all output written) or 1–125
    /// with a message on stderr (64 for usage errors), never a signal (SIGPIPE is ignored; a closed pipe is an
    /// error like a full disk).
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            try Console.finish()
        } catch {
            fail(error)
        }
        Foundation.exit(0)
    }

    /// Ends the process for `error`: help and version text go to stdout (checked), errors to stderr.
    static func fail(_ error: Error) -> Never {
        if exitCode(for: error) == .success {
            _ = try? Console.out(fullMessage(for: error) + "\n")
            do { try Console.finish() } catch {
                Console.err("Error: \(error)\n")
                Foundation.exit(1)
            }
            Foundation.exit(0)
        }
        _ = try? Console.finish()  // what was written before the error, if it still can be
        exit(withError: error)
    }
}

/// The composition root: the one place the CLI registers plugins.
enum Composition {
    static func registry() -> PluginRegistry { BuiltinPlugins.registry() }
}
