import ArgumentParser
import Foundation
import OmniCore
import Qwen25Omni

/// Where a tokenizer comes from: a model folder or a Hugging Face cache id at a revision.
struct TokenizerArguments: ParsableArguments {
    @Argument(help: "Model folder (tokenizer.json, or vocab.json and merges.txt), or org/name in the Hugging Face cache.")
    var model: String

    @Option(help: "Branch, tag or commit when MODEL is an id in the Hugging Face cache.")
    var revision: String?

    /// The tokenizer of the resolved model folder.
    func tokenizer() throws -> Tokenizer {
        try Tokenizer(directory: ModelDirectory.resolve(model, revision: revision).folder.path)
    }
}

/// `omni tokenize MODEL --text TEXT [--json]`: prints `{"ids": [...]}`, no special tokens added.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print {\"ids\": [...]} for a text.",
        discussion: "No special tokens are added; special token strings in the text map to their ids.")

    @OptionGroup var source: TokenizerArguments

    @Option(parsing: .unconditional, help: "The text to tokenize (raw: special-token strings map to their ids, as transformers' tokenizer).")
    var text: String

    @Flag(help: "JSON output (the default and only form; accepted for symmetry with `generate --json`).")
    var json = false

    func run() throws {
        let ids = try source.tokenizer().encode(text)
        try Console.out("{\"ids\": [" + ids.map(String.init).joined(separator: ", ") + "]}\n")
    }
}

/// `omni detokenize MODEL --ids 1,2,3 [--json]`: the text of token ids.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detokenize", abstract: "Print the text of token ids.")

    @OptionGroup var source: TokenizerArguments

    @Option(parsing: .unconditional, help: "Comma-separated token ids, e.g. 39,68,396 (brackets allowed).")
    var ids: String

    @Flag(help: "Leave out special tokens such as <|im_end|>.")
    var skipSpecialTokens = false

    @Flag(help: "Print {\"text\": \"...\"} instead of the bare text.")
    var json = false

    func run() throws {
        let tokenizer = try source.tokenizer()
        let list = ids.trimmingCharacters(in: CharacterSet(charactersIn: "[] \t\n"))
        var parsed: [Int] = []
        for field in list.split(separator: ",", omittingEmptySubsequences: false) where !list.isEmpty {
            let trimmed = field.trimmingCharacters(in: .whitespaces)
            guard let id = Int(trimmed) else {
                throw OmniError.invalidArgument(name: "--ids", expected: "comma-separated integers",
                                                actual: "\"\(trimmed)\"")
            }
            guard tokenizer.token(forID: id) != nil else {
                throw OmniError.invalidArgument(name: "--ids",
                                                expected: "ids of tokens in \(source.model) (0..<\(tokenizer.vocabularySize))",
                                                actual: "\(id)")
            }
            parsed.append(id)
        }
        let text = tokenizer.decode(parsed, skipSpecialTokens: skipSpecialTokens)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let data = try encoder.encode(["text": text])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(text)
        }
    }
}
