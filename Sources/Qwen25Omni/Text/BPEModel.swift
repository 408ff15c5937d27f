// Mirrors HF tokenizers' `models::bpe::BPE` (no dropout, no unk token, no subword prefix/suffix).

import Foundation
import OmniCore

/// Byte-level BPE: a vocabulary, merge ranks, and a cache of already-encoded words.
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
    init(vocab: [String: Int], merges: [(String, String)], file: String) throws {
        self.vocab = vocab
        var tokens: [Int: String] = [:]
        tokens.reserveCapacity(vocab.count)
        for (t, id) in vocab { tokens[id] = t }
        self.tokens = tokens
        var table: [UInt64: (rank: Int, id: Int)] = [:]
        table.reserveCapacity(merges.count)
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
            let key = Self.key(a, b)
            if table[key] == nil { table[key] = (rank, merged) }
        }
        self.merges = table
        self.byteIDs = ByteLevel.scalarForByte.map { vocab[String(Character($0))] }
    }

    private static func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b)) }

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
        lock.lock()
        if cache.count >= Self.cacheCapacity { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        lock.unlock()
        out.append(contentsOf: ids)
    }

    /// Repeatedly merges the adjacent pair of lowest rank (every occurrence, left to right) until none applies.
    private func merge(_ start: [Int]) -> [Int] {
        var symbols = start
        while symbols.count > 1 {
            var bestRank = Int.max
            var bestPair: UInt64 = 0
            var bestID = 0
            for k in 0..<(symbols.count - 1) {
                if let m = merges[Self.key(symbols[k], symbols[k + 1])], m.rank < bestRank {
                    bestRank = m.rank
                    bestPair = Self.key(symbols[k], symbols[k + 1])
                    bestID = m.id
                }
            }
            if bestRank == Int.max { break }
            var next: [Int] = []
            next.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k + 1 < symbols.count, Self.key(symbols[k], symbols[k + 1]) == bestPair {
                    next.append(bestID)
                    k += 2
                } else {
                    next.append(symbols[k])
                    k += 1
                }
            }
            symbols = next
        }
        return symbols
    }
}
