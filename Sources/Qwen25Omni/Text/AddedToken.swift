// Mirrors an entry of HF tokenizers' `added_tokens` (AddedToken) and the AddedVocabulary split.

/// A token matched whole in raw text before normalization and BPE (`<|im_start|>`, `<|AUDIO|>`…).
public struct AddedToken: Sendable, Equatable {
    /// The token's text.
    public let content: String
    /// Its id.
    public let id: Int
    /// Special tokens are dropped by `decode(_:skipSpecialTokens: true)`.
    public let special: Bool

    /// Makes an added token.
    public init(content: String, id: Int, special: Bool) {
        self.content = content
        self.id = id
        self.special = special
    }
}

/// Finds added tokens in text, leftmost first and, among those starting at one place, longest first
/// (the Aho–Corasick LeftmostLongest rule HF uses).
struct AddedTokenMatcher: Sendable {
    /// Candidates by first UTF-8 byte, longest first.
    private let byFirstByte: [UInt8: [(bytes: [UInt8], id: Int)]]

    init(_ tokens: [AddedToken]) {
        var table: [UInt8: [(bytes: [UInt8], id: Int)]] = [:]
        for t in tokens {
            let bytes = Array(t.content.utf8)
            guard let first = bytes.first else { continue }
            table[first, default: []].append((bytes, t.id))
        }
        for key in table.keys { table[key]?.sort { $0.bytes.count > $1.bytes.count } }
        byFirstByte = table
    }

    /// One segment of text: plain text to normalize and encode, or an added token's id.
    enum Segment: Equatable {
        case text(String)
        case token(Int)
    }

    /// Splits `text` around every added token it contains, except matches that overlap a `literal` UTF-8
    /// range (sorted, as `RenderedPrompt.literalRanges`): those bytes stay plain text.
    func split(_ text: String, literal: [Range<Int>] = []) -> [Segment] {
        let bytes = Array(text.utf8)
        guard !byFirstByte.isEmpty else { return bytes.isEmpty ? [] : [.text(text)] }
        var segments: [Segment] = []
        var plainStart = 0
        var i = 0
        while i < bytes.count {
            if let candidates = byFirstByte[bytes[i]],
               let hit = candidates.first(where: { matches($0.bytes, in: bytes, at: i) }),
               !literal.contains(where: { $0.overlaps(i..<(i + hit.bytes.count)) }) {
                if plainStart < i { segments.append(.text(String(decoding: bytes[plainStart..<i], as: UTF8.self))) }
                segments.append(.token(hit.id))
                i += hit.bytes.count
                plainStart = i
            } else {
                i += 1
            }
        }
        if plainStart < bytes.count {
            segments.append(.text(String(decoding: bytes[plainStart...], as: UTF8.self)))
        }
        return segments
    }

    private func matches(_ needle: [UInt8], in hay: [UInt8], at i: Int) -> Bool {
        guard i + needle.count <= hay.count else { return false }
        for k in 0..<needle.count where hay[i + k] != needle[k] { return false }
        return true
    }
}
