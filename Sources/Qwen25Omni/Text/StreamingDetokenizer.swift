// Mirrors the incremental decoding of transformers' TextStreamer, but at the byte level: text is emitted
// as soon as its UTF-8 is complete, never with a U+FFFD for a character that later tokens complete.

/// Turns ids into text one id at a time.
///
/// `push` returns only complete UTF-8: bytes that begin a multi-byte character still being built (up to
/// three) are held back until the next id completes them. Bytes that can never become valid UTF-8 are
/// emitted as U+FFFD at once, exactly as `Tokenizer.decode` would render them, so the concatenation of
/// every `push` and the final `finish()` equals `decode` of all the ids.
public struct StreamingDetokenizer: Sendable {
    /// The tokenizer whose vocabulary the ids index.
    public let tokenizer: Tokenizer
    /// Skip added tokens flagged special (as `decode(_:skipSpecialTokens: true)`).
    public let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    /// A detokenizer over `tokenizer`'s vocabulary.
    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id and returns the text it completes (possibly empty). Unknown ids add nothing.
    public mutating func push(_ id: Int) -> String {
        tokenizer.appendBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &pending)
        let keep = Self.incompleteSuffixStart(pending)
        guard keep > 0 else { return "" }
        let text = String(decoding: pending[..<keep], as: UTF8.self)
        pending.removeFirst(keep)
        return text
    }

    /// Returns whatever is still held back (an unfinished character becomes U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Where the trailing, still-completable UTF-8 sequence of `bytes` starts (`bytes.count` if none).
    static func incompleteSuffixStart(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var p = n - 1
        while p >= 0, p >= n - 3 {
            let b = bytes[p]
            if b & 0xC0 == 0x80 { p -= 1; continue }          // a continuation byte: look further back
            let need: Int
            switch b {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            default: return n                                  // ASCII or a byte that never starts a sequence
            }
            let have = n - p
            guard have < need else { return n }               // complete (or too long: decoded as invalid)
            // The bytes after the lead must be a valid prefix, including the lead's second-byte range.
            if have >= 2 {
                let second = bytes[p + 1]
                let ok: Bool
                switch b {
                case 0xE0: ok = (0xA0...0xBF).contains(second)
                case 0xED: ok = (0x80...0x9F).contains(second)
                case 0xF0: ok = (0x90...0xBF).contains(second)
                case 0xF4: ok = (0x80...0x8F).contains(second)
                default: ok = true
                }
                if !ok { return n }
            }
            return p
        }
        return n
    }
}
