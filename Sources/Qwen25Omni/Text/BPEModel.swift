// Mirrors HF tokenizers' `models::bpe::BPE` (no dropout, no unk token, no subword prefix/suffix).

import Foundation
import OmniCore

/// Byte-level BPE: a vocabulary, merge ranks, and a cache of already-encoded words.
/// A byte with no symbol in the vocabulary is dropped (no unk token, as HF with `unk_token: null`).
final class BPEModel: @unchecked Sendable {
    /// token → id.
    let vocab: [String: Int]
    /// id → token.
    let tokens: [Int: String]
    /// (left id, right id) packed → (rank, merged id).
    private let merges: [UInt64: (rank: Int, id: Int)]
    /// Ids of the 256 byte-level symbols (nil where the vocabulary lacks one).
    private let byteIDs: [Int?]
    private let lock = NSLock()
    private var cache: [String: [Int]] = [:]
    private static let cacheCapacity = 20_000

    /// Builds the model. `merges` are token pairs in rank order; `file` names the source in errors.
    convenience init(vocab: [String: Int], merges: [(String, String)], file: String) throws {
        self.init(try Self.compile(vocab: vocab, merges: merges, file: file))
    }

    /// The model of an already checked vocabulary (`compile`, or a tokenizer cache written from one).
    init(_ c: CompiledVocabulary) {
        vocab = c.vocab
        var tokens: [Int: String] = [:]
        tokens.reserveCapacity(c.vocab.count)
        for (t, id) in c.vocab { tokens[id] = t }
        self.tokens = tokens
        var table: [UInt64: (rank: Int, id: Int)] = [:]
        table.reserveCapacity(c.merges.count)
        for (rank, m) in c.merges.enumerated() {
            let key = Self.key(Int(m.left), Int(m.right))
            if table[key] == nil { table[key] = (rank, Int(m.merged)) }
        }
        merges = table
        byteIDs = ByteLevel.scalarForByte.map { c.vocab[String(Character($0))] }
    }

    /// Checks a vocabulary and its merges and turns the merges into ids: every id in 0..<2³¹, both sides of a
    /// merge and their concatenation in the vocabulary; `file` names the source in errors.
    static func compile(vocab: [String: Int], merges: [(String, String)], file: String) throws -> CompiledVocabulary {
        for (t, id) in vocab where id < 0 || id >= 1 << 31 {
            throw OmniError.config(file: file, keyPath: "vocab", expected: "token ids in 0..<2^31",
                                   actual: "\(id) for \"\(t)\"")
        }
        var out: [CompiledVocabulary.Merge] = []
        out.reserveCapacity(merges.count)
        for (rank, pair) in merges.enumerated() {
            guard let a = vocab[pair.0], let b = vocab[pair.1] else {
                throw OmniError.config(file: file, keyPath: "merges[\(rank)]", expected: "two tokens in the vocabulary",
                                       actual: "\"\(pair.0) \(pair.1)\"")
            }
            guard let merged = vocab[pair.0 + pair.1] else {
                throw OmniError.config(file: file, keyPath: "merges[\(rank)]",
                                       expected: "the merged token in the vocabulary",
                                       actual: "\"\(pair.0 + pair.1)\" missing")
            }
            out.append(.init(left: UInt32(a), right: UInt32(b), merged: UInt32(merged)))
        }
        return CompiledVocabulary(vocab: vocab, merges: out)
    }

    /// Both ids in one key; ids are checked to lie in 0..<2³¹ at load.
    private static func key(_ a: Int, _ b: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b))
    }

    /// Encodes one pre-tokenized piece (raw UTF-8 bytes) into ids.
    func encode(piece: some Collection<UInt8>, appendingTo out: inout [Int]) {
        let word = String(decoding: piece, as: UTF8.self)
        // Pieces are cut at scalar boundaries, so `word` round-trips to the same bytes.
        lock.lock()
        let cached = cache[word]
        lock.unlock()
        if let cached {
            out.append(contentsOf: cached)
            return
        }
        let ids = merge(piece.compactMap { byteIDs[Int($0)] })
        // Like HF, only words shorter than 256 bytes are cached.
        if piece.count < 256 {
            lock.lock()
            if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
            cache[word] = ids
            lock.unlock()
        }
        out.append(contentsOf: ids)
    }

    /// HF's merge order: lowest rank first, leftmost among equal ranks (see `BPEWord`).
    private func merge(_ start: [Int]) -> [Int] {
        BPEWord.merge(start) { merges[Self.key($0, $1)] }
    }
}
