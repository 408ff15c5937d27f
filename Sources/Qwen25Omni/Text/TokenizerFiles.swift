// Mirrors the parts of HF `tokenizer.json` (tokenizers 0.2x) and the slow Qwen2Tokenizer files that a
// byte-level BPE with the Qwen2 pre-tokenizer needs.

import Foundation
import OmniCore

/// What a tokenizer is built from, whichever files it came from.
struct TokenizerDefinition {
    var vocab: [String: Int]
    var merges: [(String, String)]
    var added: [AddedToken]
    var normalizeNFC: Bool
    /// The file named in errors about the vocabulary and merges.
    var modelFile: String
}

/// Readers for `tokenizer.json` and for `vocab.json` + `merges.txt` (+ `tokenizer_config.json`).
enum TokenizerFiles {
    /// The Qwen2 pre-tokenizer pattern; `Qwen2PreTokenizer` implements exactly this.
    static let qwen2Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Reads an HF `tokenizer.json`. Throws for a model other than BPE, a normalizer other than NFC,
    /// or a split pattern other than Qwen2's, naming the key.
    static func readTokenizerJSON(_ path: String) throws -> TokenizerDefinition {
        let file = try decode(TokenizerJSON.self, from: path)
        if let type = file.model.type, type != "BPE" {
            throw OmniError.config(file: path, keyPath: "model.type", expected: "\"BPE\"", actual: "\"\(type)\"")
        }
        var nfc = false
        if let n = file.normalizer {
            guard n.type == "NFC" else {
                throw OmniError.config(file: path, keyPath: "normalizer.type", expected: "\"NFC\" or null",
                                       actual: "\"\(n.type)\"")
            }
            nfc = true
        }
        for pattern in file.preTokenizer?.patterns ?? [] where pattern != qwen2Pattern {
            throw OmniError.config(file: path, keyPath: "pre_tokenizer.pattern", expected: "the Qwen2 split pattern",
                                   actual: pattern)
        }
        let added = (file.addedTokens ?? []).map {
            AddedToken(content: $0.content, id: $0.id, special: $0.special ?? false)
        }
        return TokenizerDefinition(vocab: file.model.vocab, merges: file.model.merges.map { ($0.left, $0.right) },
                                   added: added, normalizeNFC: nfc, modelFile: path)
    }

    /// Reads the slow-tokenizer files: `vocab.json`, `merges.txt` and, if `configPath` exists, the added
    /// tokens in its `added_tokens_decoder`. Normalization is NFC, as Qwen2Tokenizer does.
    static func readVocabAndMerges(vocabPath: String, mergesPath: String,
                                   configPath: String?) throws -> TokenizerDefinition {
        let vocab = try decode([String: Int].self, from: vocabPath)
        let text = try readText(mergesPath)
        var merges: [(String, String)] = []
        // Lines split on U+000A scalars, not Characters: in Swift "\r\n" is one Character, so splitting a CRLF
        // file by Character saw one line (the "#version" header) and silently dropped every merge.
        for (n, rawScalars) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let raw = Substring(rawScalars)
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw OmniError.config(file: mergesPath, keyPath: "line \(n + 1)",
                                       expected: "two tokens separated by one space",
                                       actual: "\"\(line)\"")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        var added: [AddedToken] = []
        if let configPath, FileManager.default.fileExists(atPath: configPath) {
            let config = try decode(TokenizerConfigJSON.self, from: configPath)
            for (key, entry) in config.addedTokensDecoder ?? [:] {
                guard let id = Int(key) else {
                    throw OmniError.config(file: configPath, keyPath: "added_tokens_decoder.\(key)",
                                           expected: "an integer id as key", actual: "\"\(key)\"")
                }
                added.append(AddedToken(content: entry.content, id: id, special: entry.special ?? false))
            }
            added.sort { $0.id < $1.id }
        }
        // A vocabulary beyond the 256 byte symbols is reachable only through merges: none means a file that
        // parsed but makes no sense (every text would come out as byte tokens), so it is an error.
        if merges.isEmpty && vocab.count > 256 {
            throw OmniError.config(file: mergesPath, keyPath: "(merges)",
                                   expected: "merge rules for the \(vocab.count) tokens of \(vocabPath)", actual: "none")
        }
        return TokenizerDefinition(vocab: vocab, merges: merges, added: added, normalizeNFC: true,
                                   modelFile: mergesPath)
    }

    // MARK: decoding helpers

    private static func readData(_ path: String) throws -> Data {
        try RegularFile.read(path, limit: 1 << 30)
    }

    private static func readText(_ path: String) throws -> String {
        let data = try readData(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw OmniError.io(path: path, reason: "not valid UTF-8 text")
        }
        return text
    }

    /// Decodes JSON, turning a decoding failure into `OmniError.config` with the dotted key path.
    private static func decode<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        let data = try readData(path)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, file: path)
        } catch {
            throw OmniError.config(file: path, keyPath: "", expected: "valid JSON", actual: "\(error)")
        }
    }

    private static func describe(_ error: DecodingError, file: String) -> OmniError {
        func path(_ c: [CodingKey]) -> String {
            c.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case let .keyNotFound(key, ctx):
            let p = path(ctx.codingPath + [key])
            return .config(file: file, keyPath: p, expected: "a value", actual: "missing")
        case let .typeMismatch(type, ctx):
            return .config(file: file, keyPath: path(ctx.codingPath), expected: "\(type)", actual: ctx.debugDescription)
        case let .valueNotFound(type, ctx):
            return .config(file: file, keyPath: path(ctx.codingPath), expected: "\(type)", actual: "null")
        case let .dataCorrupted(ctx):
            return .config(file: file, keyPath: path(ctx.codingPath), expected: "valid JSON",
                           actual: ctx.debugDescription)
        @unknown default:
            return .config(file: file, keyPath: "", expected: "valid JSON", actual: "\(error)")
        }
    }
}

/// The subset of `tokenizer.json` we read.
private struct TokenizerJSON: Decodable {
    struct Model: Decodable {
        var type: String?
        var vocab: [String: Int]
        var merges: [Merge]
    }
    struct Added: Decodable {
        var id: Int
        var content: String
        var special: Bool?
    }
    struct Normalizer: Decodable {
        var type: String
    }
    /// A pre-tokenizer, possibly a Sequence; only Split patterns matter.
    struct PreTokenizer: Decodable {
        var type: String
        var pretokenizers: [PreTokenizer]?
        var pattern: Pattern?
        struct Pattern: Decodable {
            var regex: String?
            enum CodingKeys: String, CodingKey { case regex = "Regex" }
        }
        /// Every Split regex in this pre-tokenizer and its children.
        var patterns: [String] {
            (pattern?.regex.map { [$0] } ?? []) + (pretokenizers ?? []).flatMap(\.patterns)
        }
    }
    var model: Model
    var addedTokens: [Added]?
    var normalizer: Normalizer?
    var preTokenizer: PreTokenizer?

    enum CodingKeys: String, CodingKey {
        case model, normalizer
        case addedTokens = "added_tokens"
        case preTokenizer = "pre_tokenizer"
    }
}

/// One merge, spelled either `"a b"` (older files) or `["a", "b"]` (tokenizers ≥ 0.20).
private struct Merge: Decodable {
    var left: String
    var right: String

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            let parts = s.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "merge \"\(s)\" is not two tokens")
            }
            left = String(parts[0])
            right = String(parts[1])
        } else {
            let pair = try c.decode([String].self)
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "merge has \(pair.count) tokens, not 2")
            }
            left = pair[0]
            right = pair[1]
        }
    }
}

/// The subset of `tokenizer_config.json` we read.
private struct TokenizerConfigJSON: Decodable {
    struct Entry: Decodable {
        var content: String
        var special: Bool?
    }
    var addedTokensDecoder: [String: Entry]?
    enum CodingKeys: String, CodingKey { case addedTokensDecoder = "added_tokens_decoder" }
}
