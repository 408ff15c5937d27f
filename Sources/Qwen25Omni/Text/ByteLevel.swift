// Mirrors GPT-2's `bytes_to_unicode` as used by HF tokenizers' ByteLevel pre-tokenizer and decoder.

/// The byte-level alphabet: every byte maps to one printable Unicode scalar, and back.
///
/// Printable Latin-1 bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) map to themselves; the other 68 bytes map to
/// U+0100 upwards in byte order (so a space is `Ġ`, a newline `Ċ`, a tab `ĉ`).
enum ByteLevel {
    /// `scalarForByte[b]`: the scalar that stands for byte `b` in vocabulary tokens.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                // 256 + k for k < 68 is always a valid scalar.
                table[b] = Unicode.Scalar(next) ?? " "
                next += 1
            }
        }
        return table
    }()

    /// The inverse of `scalarForByte`, keyed by scalar value.
    static let byteForScalar: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in scalarForByte.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The bytes a vocabulary token stands for. A token with any scalar outside the alphabet (an added
    /// token such as `<|im_start|>` is inside it; one with a raw space would not be) is taken as its own
    /// UTF-8 bytes, as the HF ByteLevel decoder does.
    static func bytes(ofToken token: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = byteForScalar[s.value] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}
