import ArgumentParser
import Foundation
import OmniCore
import Qwen25Omni

/// `omni inspect MODEL [--json]`: every tensor of a checkpoint with totals per component and per dtype.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List every tensor (name, dtype, shape, bytes, file) with totals per component and dtype.")

    @Argument(help: "A model folder or a weight file (.safetensors, .pt, …).")
    var model: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let report = try CheckpointReport(url: URL(fileURLWithPath: model), registry: Composition.registry())
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            print(report.table())
        }
    }
}
