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
            PreprocessCommand.self, ForwardCommand.self, GenerateCommand.self, TalkCommand.self,
            SpeakersCommand.self, Token2WavCommand.self,
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
            var command = try parseAsRoot(joiningTextValues(Array(CommandLine.arguments.dropFirst())))
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

    /// Options whose value is free text: the next argument is their value even when it starts with `-`
    /// (`--text ----`, `--prompt -x`), which ArgumentParser's lexer would otherwise take for an option.
    static let textOptions: Set<String> = ["--text", "--prompt", "--system", "--ids"]

    /// `--text -VALUE` rewritten as `--text=-VALUE` for every option in `textOptions` whose value starts with `-`
    /// (other values, the empty string included, are left for ArgumentParser; everything after `--` as is).
    static func joiningTextValues(_ args: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" { out += args[i...]; break }
            if textOptions.contains(a), i + 1 < args.count, args[i + 1].hasPrefix("-") {
                out.append(a + "=" + args[i + 1])
                i += 2
                continue
            }
            out.append(a)
            i += 1
        }
        return out
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
