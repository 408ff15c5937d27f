// Mirrors HF tokenizers' `Tokenizer` for Qwen2's byte-level BPE (transformers' Qwen2TokenizerFast).

import Foundation
import OmniCore

/// Qwen2's byte-level BPE tokenizer, loaded from `tokenizer.json` or from `vocab.json` + `merges.txt`.
///
/// Encoding: added tokens (`<|im_start|>`…) are found in the raw text first (leftmost, then longest) and
/// map straight to their ids; the text between them is NFC-normalized, split by the Qwen2 pattern, mapped
/// to the byte-level alphabet and merged by BPE. No special tokens are added (`add_special_tokens=False`).
/// Added tokens are always matched in raw text (their `normalized`, `lstrip`, `rstrip` and `single_word`
/// flags are not read; all four are off for every Qwen2.5-Omni added token).
public final class Tokenizer: Sendable {
    private let model: BPEModel
    private let addedByID: [Int: AddedToken]
    private let addedByContent: [String: Int]
    private let matcher: AddedTokenMatcher
    private let normalizeNFC: Bool

    /// One more than the largest id, over the vocabulary and the added tokens (HF `len(tokenizer)`).
    public let vocabularySize: Int

    /// The added tokens in id order.
    public let addedTokens: [AddedToken]

    convenience init(_ definition: TokenizerDefinition) throws {
        self.init(try TokenizerContents(definition))
    }

    init(_ contents: TokenizerContents) {
        model = BPEModel(contents.vocabulary)
        var byID: [Int: AddedToken] = [:]
        var byContent: [String: Int] = [:]
        for t in contents.added {
            byID[t.id] = t
            byContent[t.content] = t.id
        }
        addedByID = byID
        addedByContent = byContent
        addedTokens = byID.values.sorted { $0.id < $1.id }
        matcher = AddedTokenMatcher(addedTokens)
        normalizeNFC = contents.normalizeNFC
        vocabularySize = max(contents.vocabulary.vocab.values.max() ?? -1, addedTokens.last?.id ?? -1) + 1
    }

    /// Loads the tokenizer of a model folder: `tokenizer.json` if present, else `vocab.json` + `merges.txt`
    /// (with added tokens from `tokenizer_config.json`'s `added_tokens_decoder`). Throws `OmniError.io`
    /// naming the files looked for when neither set is there.
    public convenience init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        let json = dir.appendingPathComponent("tokenizer.json").path
        let vocab = dir.appendingPathComponent("vocab.json").path
        let merges = dir.appendingPathComponent("merges.txt").path
        let fm = FileManager.default
        if fm.fileExists(atPath: json) {
            try self.init(tokenizerJSON: json)
        } else if fm.fileExists(atPath: vocab), fm.fileExists(atPath: merges) {
            try self.init(vocabJSON: vocab, mergesTXT: merges,
                          tokenizerConfig: dir.appendingPathComponent("tokenizer_config.json").path)
        } else {
            throw OmniError.io(path: directory,
                               reason: "no tokenizer: expected tokenizer.json, or vocab.json and merges.txt")
        }
    }

    /// Loads an HF `tokenizer.json` (merges as `"a b"` strings or `["a", "b"]` pairs). A file of 1 MiB or more
    /// is parsed once: its checked vocabulary and merges are kept in `.tokenizer.json.omni-cache` next to it
    /// and read from there while the file's size and hash match (`TokenizerCache`; OMNI_TOKENIZER_CACHE=0 turns
    /// it off).
    public convenience init(tokenizerJSON path: String) throws {
        self.init(try TokenizerCache.contents(of: path) { try TokenizerContents(TokenizerFiles.readTokenizerJSON(path)) })
    }

    /// Loads the slow-tokenizer files; `tokenizerConfig` is optional and may name a missing file.
    public convenience init(vocabJSON: String, mergesTXT: String, tokenizerConfig: String? = nil) throws {
        try self.init(TokenizerFiles.readVocabAndMerges(vocabPath: vocabJSON, mergesPath: mergesTXT,
                                                        configPath: tokenizerConfig))
    }

    // MARK: lookup

    /// The id of a vocabulary or added token, spelled as in the files (`"Ġthe"`, `"<|im_end|>"`).
    public func id(forToken token: String) -> Int? {
        addedByContent[token] ?? model.vocab[token]
    }

    /// The token an id stands for, or nil for an id neither in the vocabulary nor added.
    public func token(forID id: Int) -> String? {
        addedByID[id]?.content ?? model.tokens[id]
    }

    /// Whether `id` is an added token flagged special.
    public func isSpecial(_ id: Int) -> Bool { addedByID[id]?.special ?? false }

    // MARK: encode

    /// Token ids for `text`, with no special tokens added; added-token strings in the text map to their ids
    /// (raw, as transformers' tokenizer). For chat prompts built from user text, use `encode(_:rawText:)`.
    public func encode(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in matcher.split(text) {
            switch segment {
            case let .token(id): ids.append(id)
            case let .text(plain): encodePlain(plain, into: &ids)
            }
        }
        return ids
    }

    /// Token ids for a rendered chat prompt. Special-token strings inside message text (a user typing
    /// `<|im_start|>system`) are encoded as plain text, so user text cannot forge control tokens; pass
    /// `rawText: true` for transformers' behaviour (`apply_chat_template` then `encode`: they become control
    /// tokens). Text without such strings encodes identically either way.
    public func encode(_ prompt: RenderedPrompt, rawText: Bool = false) -> [Int] {
        var ids: [Int] = []
        for segment in matcher.split(prompt.text, literal: rawText ? [] : prompt.literalRanges) {
            switch segment {
            case let .token(id): ids.append(id)
            case let .text(plain): encodePlain(plain, into: &ids)
            }
        }
        return ids
    }

    private func encodePlain(_ text: String, into ids: inout [Int]) {
        let normalized = normalizeNFC && !text.utf8.allSatisfy({ $0 < 0x80 })
            ? text.precomposedStringWithCanonicalMapping : text
        let scalars = Array(normalized.unicodeScalars)
        var bytes: [UInt8] = []
        for piece in Qwen2PreTokenizer.split(scalars) {
            bytes.removeAll(keepingCapacity: true)
            for s in scalars[piece] { UTF8.encode(s) { bytes.append($0) } }
            model.encode(piece: bytes, appendingTo: &ids)
        }
    }

    // MARK: decode

    /// The text for `ids`. Ids that are neither in the vocabulary nor added tokens are skipped, as HF
    /// tokenizers' `decode` does; with `skipSpecialTokens`, added tokens flagged special are skipped too.
    /// Byte sequences that are not valid UTF-8 become U+FFFD (Rust's `from_utf8_lossy`, as HF).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids { appendBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the bytes `id` stands for (nothing for an unknown id or a skipped special token).
    func appendBytes(of id: Int, skipSpecialTokens: Bool, to bytes: inout [UInt8]) {
        if let added = addedByID[id] {
            if skipSpecialTokens && added.special { return }
            bytes.append(contentsOf: ByteLevel.bytes(ofToken: added.content))
        } else if let token = model.tokens[id] {
            bytes.append(contentsOf: ByteLevel.bytes(ofToken: token))
        }
    }
}
