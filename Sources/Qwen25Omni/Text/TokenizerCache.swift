// A compact binary form of a parsed tokenizer file, kept next to it so that later loads skip the JSON.

import Foundation
import OmniCore

/// A vocabulary with its merges as ids, checked (`BPEModel.compile`).
struct CompiledVocabulary {
    /// One merge rule: the ids of its two sides and of their concatenation.
    struct Merge: Equatable {
        var left: UInt32
        var right: UInt32
        var merged: UInt32
    }
    var vocab: [String: Int]
    /// In rank order.
    var merges: [Merge]
}

/// Everything a `Tokenizer` is built from, checked: what a tokenizer file parses to, and what the cache holds.
struct TokenizerContents {
    var vocabulary: CompiledVocabulary
    var added: [AddedToken]
    var normalizeNFC: Bool
    /// The file named in errors about the vocabulary and merges.
    var modelFile: String

    /// Checks a parsed definition (token ids, merges, added-token ids) and turns its merges into ids.
    init(_ d: TokenizerDefinition) throws {
        for t in d.added where t.id < 0 || t.id >= 1 << 31 {
            throw OmniError.config(file: d.modelFile, keyPath: "added_tokens", expected: "ids in 0..<2^31",
                                   actual: "\(t.id) for \"\(t.content)\"")
        }
        vocabulary = try BPEModel.compile(vocab: d.vocab, merges: d.merges, file: d.modelFile)
        added = d.added
        normalizeNFC = d.normalizeNFC
        modelFile = d.modelFile
    }

    init(vocabulary: CompiledVocabulary, added: [AddedToken], normalizeNFC: Bool, modelFile: String) {
        self.vocabulary = vocabulary
        self.added = added
        self.normalizeNFC = normalizeNFC
        self.modelFile = modelFile
    }
}

/// The cache of a tokenizer file: `.NAME.omni-cache` next to `NAME`, holding the checked contents (`TokenizerContents`)
/// with the source's size and a 64-bit hash of its bytes. A cache is used only when both match the source as it is
/// now and its own checksum holds; anything else (missing, stale, truncated, corrupt, another format version) falls
/// back to parsing the source, which then rewrites the cache atomically (`AtomicFile`). A folder that cannot be
/// written to (a read-only cache, another user's files) only costs the parse.
///
/// Layout, little-endian: magic `OMNITOK1`; u64 source size; u64 source hash; u64 body length; u64 body checksum;
/// body: u8 NFC flag; u32 vocabulary count, then per token u32 id, u16 byte length, UTF-8 bytes; u32 merge count,
/// then per merge u32 left, right, merged; u32 added count, then per token u32 id, u8 special, u16 length, bytes.
enum TokenizerCache {
    static let magic = Array("OMNITOK1".utf8)
    /// Sources smaller than this are parsed every time (a small file parses in a few milliseconds; no cache litter
    /// next to test fixtures).
    nonisolated(unsafe) static var minimumSourceBytes = 1 << 20
    /// Off with OMNI_TOKENIZER_CACHE=0 (benchmarks of the parse itself).
    static var enabled: Bool { ProcessInfo.processInfo.environment["OMNI_TOKENIZER_CACHE"] != "0" }

    /// Where the cache of `source` lives.
    static func path(for source: String) -> String {
        let url = URL(fileURLWithPath: source)
        return url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".omni-cache").path
    }

    /// The contents of `source`: from its cache when that is valid, else from `parse` (then cached).
    static func contents(of source: String, parse: () throws -> TokenizerContents) throws -> TokenizerContents {
        guard enabled else { return try parse() }
        let bytes = try RegularFile.read(source, limit: 1 << 30)
        guard bytes.count >= minimumSourceBytes else { return try parse() }
        let hash = bytes.withUnsafeBytes { hash64($0) }
        let cachePath = path(for: source)
        if let cached = try? RegularFile.read(cachePath, limit: 1 << 30),
           let c = decode(cached, sourceSize: bytes.count, sourceHash: hash, modelFile: source) {
            return c
        }
        let c = try parse()
        try? write(c, to: cachePath, sourceSize: bytes.count, sourceHash: hash)
        return c
    }

    // MARK: format

    /// The cache bytes of `c`; nil when a token is too long for the format (64 KiB), then nothing is cached.
    static func encode(_ c: TokenizerContents, sourceSize: Int, sourceHash: UInt64) -> [UInt8]? {
        let limit = Int(UInt16.max)
        guard c.vocabulary.vocab.keys.allSatisfy({ $0.utf8.count <= limit }),
              c.added.allSatisfy({ $0.content.utf8.count <= limit }) else { return nil }
        var body: [UInt8] = []
        body.reserveCapacity(c.vocabulary.vocab.count * 16 + c.vocabulary.merges.count * 12)
        body.append(c.normalizeNFC ? 1 : 0)
        put32(&body, c.vocabulary.vocab.count)
        for (token, id) in c.vocabulary.vocab.sorted(by: { $0.value < $1.value }) {
            put32(&body, id)
            put16(&body, token.utf8.count)
            body.append(contentsOf: token.utf8)
        }
        put32(&body, c.vocabulary.merges.count)
        for m in c.vocabulary.merges {
            put32(&body, Int(m.left)); put32(&body, Int(m.right)); put32(&body, Int(m.merged))
        }
        put32(&body, c.added.count)
        for t in c.added {
            put32(&body, t.id)
            body.append(t.special ? 1 : 0)
            put16(&body, t.content.utf8.count)
            body.append(contentsOf: t.content.utf8)
        }
        var out = magic
        put64(&out, UInt64(sourceSize)); put64(&out, sourceHash)
        put64(&out, UInt64(body.count)); put64(&out, body.withUnsafeBytes { hash64($0) })
        return out + body
    }

    /// The contents in `data`, or nil unless it is a well-formed cache of a source of this size and hash.
    static func decode(_ data: Data, sourceSize: Int, sourceHash: UInt64, modelFile: String) -> TokenizerContents? {
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> TokenizerContents? in
            var r = Reader(raw: raw)
            guard raw.count >= 40, Array(raw[0..<8]) == magic else { return nil }
            r.at = 8
            guard r.u64() == UInt64(sourceSize), r.u64() == sourceHash, let bodyLength = r.u64().map(Int.init),
                  let checksum = r.u64(), bodyLength == raw.count - 40,
                  hash64(UnsafeRawBufferPointer(rebasing: raw[40...])) == checksum,
                  let nfc = r.u8(), let vocabCount = r.u32() else { return nil }
            var vocab: [String: Int] = [:]
            vocab.reserveCapacity(vocabCount)
            for _ in 0..<vocabCount {
                guard let id = r.u32(), let s = r.string() else { return nil }
                vocab[s] = id
            }
            guard vocab.count == vocabCount, let mergeCount = r.u32(),
                  mergeCount <= (raw.count - r.at) / 12 else { return nil }
            var merges: [CompiledVocabulary.Merge] = []
            merges.reserveCapacity(mergeCount)
            for _ in 0..<mergeCount {
                guard let a = r.u32(), let b = r.u32(), let m = r.u32() else { return nil }
                merges.append(.init(left: UInt32(a), right: UInt32(b), merged: UInt32(m)))
            }
            guard let addedCount = r.u32() else { return nil }
            var added: [AddedToken] = []
            for _ in 0..<addedCount {
                guard let id = r.u32(), let special = r.u8(), let s = r.string() else { return nil }
                added.append(AddedToken(content: s, id: id, special: special != 0))
            }
            guard r.at == raw.count else { return nil }
            return TokenizerContents(vocabulary: CompiledVocabulary(vocab: vocab, merges: merges), added: added,
                                     normalizeNFC: nfc != 0, modelFile: modelFile)
        }
    }

    static func write(_ c: TokenizerContents, to path: String, sourceSize: Int, sourceHash: UInt64) throws {
        guard let bytes = encode(c, sourceSize: sourceSize, sourceHash: sourceHash) else { return }
        let file = try AtomicFile(path: path)
        try file.write(bytes)
        try file.commit()
    }

    /// A 64-bit hash of `bytes` (8 bytes a step, murmur-style mixing; for telling files apart, not for security).
    static func hash64(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        let words = bytes.count / 8
        for i in 0..<words {
            var k = bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
            k = k &* 0x87C3_7B91_1142_53D5
            k = (k << 31) | (k >> 33)
            h ^= k &* 0x4CF5_AD43_2745_937F
            h = ((h << 27) | (h >> 37)) &* 5 &+ 0x52DC_E729
        }
        for i in (words * 8)..<bytes.count { h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01B3 }
        h ^= h >> 33; h = h &* 0xFF51_AFD7_ED55_8CCD; h ^= h >> 33
        return h
    }

    private static func put16(_ out: inout [UInt8], _ v: Int) { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8 & 0xFF)) }
    private static func put32(_ out: inout [UInt8], _ v: Int) { for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(v >> s & 0xFF)) } }
    private static func put64(_ out: inout [UInt8], _ v: UInt64) { for s in stride(from: 0, to: 64, by: 8) { out.append(UInt8(v >> UInt64(s) & 0xFF)) } }

    /// Bounds-checked little-endian reads (nil past the end).
    private struct Reader {
        let raw: UnsafeRawBufferPointer
        var at = 0
        mutating func u8() -> Int? {
            guard at < raw.count else { return nil }
            defer { at += 1 }
            return Int(raw[at])
        }
        mutating func u16() -> Int? {
            guard at + 2 <= raw.count else { return nil }
            defer { at += 2 }
            return Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        }
        mutating func u32() -> Int? {
            guard at + 4 <= raw.count else { return nil }
            defer { at += 4 }
            return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        mutating func u64() -> UInt64? {
            guard at + 8 <= raw.count else { return nil }
            defer { at += 8 }
            return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        }
        /// A u16 length, then that many bytes of valid UTF-8.
        mutating func string() -> String? {
            guard let n = u16(), at + n <= raw.count else { return nil }
            let slice = UnsafeRawBufferPointer(rebasing: raw[at..<(at + n)])
            at += n
            return String(validating: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
        }
    }
}
