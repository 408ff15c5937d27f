// Loads a checkpoint through the SwiftOmni product and generates a few tokens: what an app embedding the
// loader does first. Exits non-zero with the error on any failure, or when nothing was generated.
import Foundation
import SwiftOmni

guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: AppCheck MODEL_DIR\n".utf8))
    exit(2)
}
do {
    let model = try OmniModel.fromPretrained(CommandLine.arguments[1])
    var tokens = 0
    for try await _ in model.generate(prompt: "Hello!", options: GenerationOptions(maxNewTokens: 8)) { tokens += 1 }
    guard tokens > 0 else {
        FileHandle.standardError.write(Data("app check: no tokens generated\n".utf8))
        exit(1)
    }
    print("app check: loaded \(CommandLine.arguments[1]) through SwiftOmni and generated \(tokens) tokens")
} catch {
    FileHandle.standardError.write(Data("app check: \(error)\n".utf8))
    exit(1)
}
