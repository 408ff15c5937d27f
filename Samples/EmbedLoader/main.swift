// Sample: an app embedding the loader. Loads the bundled tiny checkpoint (or the model given as the first
// argument: a folder or org/name from the Hugging Face cache), prints what it loaded, and streams a reply.
import Foundation
import SwiftOmni

let modelID = CommandLine.arguments.dropFirst().first ?? "Models/tiny-omni"
do {
    let model = try OmniModel.fromPretrained(modelID, options: LoadOptions(attention: "flash_attention_2"))
    let text = model.config.thinker.text
    print("loaded \(model.directory.id): \(text.layers) layers, hidden \(text.hiddenSize), vocab \(text.vocabSize)")
    var tokens = 0
    for try await event in model.generate(prompt: "Hello!", options: GenerationOptions(maxNewTokens: 12)) {
        print(event.text, terminator: "")
        tokens += 1
    }
    print("\n\(tokens) tokens")
    print(model.executor.device.memory.report())
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
