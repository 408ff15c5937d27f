import ArgumentParser
import SwiftOmni

/// `--audio-windows` and `--vision-slices`: the towers run long inputs in bounded groups (equal output).
struct TowerChunkArguments: ParsableArguments {
    @Option(name: .customLong("audio-windows"), parsing: .unconditional,
            help: "Run the audio tower on at most N native 2 s windows of an audio at a time (activations bounded by the group, equal output): 1 … 2147483647. Default: every audio in one run, or the largest group that fits --max-memory (generate).")
    var audioWindows: Int?

    @Option(name: .customLong("vision-slices"), parsing: .unconditional,
            help: "Run the vision tower on at most N temporal patches (2 video frames each) of a grid at a time (activations bounded by the group, equal output): 1 … 2147483647. Default: every grid in one run, or the largest group that fits --max-memory (generate).")
    var visionSlices: Int?

    func validate() throws {
        if let n = audioWindows { try OptionCheck.int(n, "--audio-windows", 1...Int(Int32.max)) }
        if let n = visionSlices { try OptionCheck.int(n, "--vision-slices", 1...Int(Int32.max)) }
    }

    /// The chunk sizes asked for (nil: left to the planner).
    func requested(prefillChunk: Int?) -> ChunkSizes {
        ChunkSizes(prefillChunk: prefillChunk, audioWindows: audioWindows, visionSlices: visionSlices)
    }

    /// Sets the towers' group sizes on a loaded model.
    func apply(to model: OmniModel) {
        model.audioWindowsPerRun = audioWindows
        model.visionSlicesPerRun = visionSlices
    }
}
