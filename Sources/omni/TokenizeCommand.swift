import ArgumentParser
import Foundation
import OmniCore
import Qwen25Omni

/// `omni tokenize MODEL --text TEXT [--json]`: the ids of a text, no special tokens added.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text (no special tokens added; special token strings map to their ids).")

    @Argument(help: "Model folder holding tokenizer.json, or vocab.json and merges.txt.")
    var model: String

    @Option(help: "The text to tokenize.")
    var text: String

    @Flag(help: "Print {\"ids\": [...]} instead of one line of space-separated ids.")
    var json = false

    func run() throws {
        let ids = try Tokenizer(directory: model).encode(text)
        if json {
            print("{\"ids\": [" + ids.map(String.init).joined(separator: ", ") + "]}")
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}

/// `omni detokenize MODEL --ids 1,2,3`: the text of token ids.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detokenize", abstract: "Print the text of token ids.")

    @Argument(help: "Model folder holding tokenizer.json, or vocab.json and merges.txt.")
    var model: String

    @Option(help: "Comma-separated token ids, e.g. 39,68,396.")
    var ids: String

    @Flag(help: "Leave out special tokens such as <|im_end|>.")
    var skipSpecialTokens = false

    func run() throws {
        let tokenizer = try Tokenizer(directory: model)
        var parsed: [Int] = []
        for field in ids.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            guard let id = Int(trimmed) else {
                throw OmniError.invalidArgument(name: "--ids", expected: "comma-separated integers",
                                                actual: "\"\(trimmed)\"")
            }
            guard tokenizer.token(forID: id) != nil else {
                throw OmniError.invalidArgument(name: "--ids", expected: "ids of tokens in \(model) "
                                                + "(0..<\(tokenizer.vocabularySize))", actual: "\(id)")
            }
            parsed.append(id)
        }
        print(tokenizer.decode(parsed, skipSpecialTokens: skipSpecialTokens))
    }
}
