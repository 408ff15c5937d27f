import ArgumentParser

/// `omni bench …`: benchmarks that print figures (never timed unit tests). Add subcommands here.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures.",
        subcommands: [
            BenchOpenCommand.self,
            BenchConvertCommand.self,
            BenchZstd.self,
            BenchDecodeCommand.self, BenchBatchCommand.self, BenchPrefillCommand.self, BenchAttentionCommand.self, BenchConvCommand.self,
            BenchKernelsCommand.self, BenchTowersCommand.self, BenchToken2WavCommand.self, BenchMediaCommand.self, BenchTalkerCommand.self, BenchSpeakCommand.self,
            BenchActivationsCommand.self, BenchLongVideoCommand.self,
        ]
    )
}
