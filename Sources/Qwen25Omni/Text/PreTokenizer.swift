// Mirrors HF tokenizers' Split pre-tokenizer (behavior Isolated) with the Qwen2 pattern, run by hand.

/// Splits text into the pieces the Qwen2 pattern matches, leftmost first, exactly as the regex
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// would with a backtracking engine (alternatives tried in order at each start). `\p{L}` is general
/// category L*, `\p{N}` is N*, `\s` is the Unicode White_Space property (Oniguruma's Unicode `\s`).
/// Every scalar is matched by some alternative, so the pieces cover the input with no gaps.
enum Qwen2PreTokenizer {
    /// Returns the pieces as ranges of scalar offsets into `scalars`.
    static func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        var i = 0
        while i < scalars.count {
            let end = matchEnd(scalars, at: i)
            pieces.append(i..<end)
            i = end
        }
        return pieces
    }

    /// The end of the match starting at `i` (always > i).
    static func matchEnd(_ s: [Unicode.Scalar], at i: Int) -> Int {
        let n = s.count
        let c = s[i]
        // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c == "'", i + 1 < n {
            let a = s[i + 1]
            if oneOf(a, "s", "t", "m", "d") { return i + 2 }
            if i + 2 < n {
                let b = s[i + 2]
                if (oneOf(a, "r", "v") && oneOf(b, "e")) || (oneOf(a, "l") && oneOf(b, "l")) { return i + 3 }
            }
        }
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if isLetter(c) { return letterRunEnd(s, from: i + 1) }
        if !isCRLF(c), !isNumber(c), i + 1 < n, isLetter(s[i + 1]) { return letterRunEnd(s, from: i + 2) }
        // 3. \p{N}
        if isNumber(c) { return i + 1 }
        // 4. ' '?[^\s\p{L}\p{N}]+[\r\n]*
        var j = i
        if c == " ", i + 1 < n, isOther(s[i + 1]) { j = i + 1 }
        if isOther(s[j]) {
            j += 1
            while j < n, isOther(s[j]) { j += 1 }
            while j < n, isCRLF(s[j]) { j += 1 }
            return j
        }
        // c is whitespace from here on: the other classes were all handled above.
        var runEnd = i
        while runEnd < n, isSpace(s[runEnd]) { runEnd += 1 }
        // 5. \s*[\r\n]+ : \s* backs off to the last CR/LF in the run, which then ends the match.
        var k = runEnd - 1
        while k >= i {
            if isCRLF(s[k]) { return k + 1 }
            k -= 1
        }
        // 6. \s+(?!\S) : the whole run at the end of text, else the run less its last scalar.
        if runEnd == n || runEnd - i >= 2 { return runEnd == n ? n : runEnd - 1 }
        // 7. \s+
        return runEnd
    }

    private static func letterRunEnd(_ s: [Unicode.Scalar], from start: Int) -> Int {
        var j = start
        while j < s.count, isLetter(s[j]) { j += 1 }
        return j
    }

    /// Case-insensitive ASCII letter test with Unicode simple case folding (`ſ` folds to `s`).
    private static func oneOf(_ c: Unicode.Scalar, _ letters: Unicode.Scalar...) -> Bool {
        for l in letters {
            if c == l || c.value == l.value - 32 { return true }
            if l == "s", c.value == 0x017F { return true }
        }
        return false
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c >= "0" && c <= "9" }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c == " " || (c.value >= 0x09 && c.value <= 0x0D) }
        return c.properties.isWhitespace
    }

    private static func isCRLF(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }

    /// Neither whitespace, letter nor number: `[^\s\p{L}\p{N}]`.
    private static func isOther(_ c: Unicode.Scalar) -> Bool { !isSpace(c) && !isLetter(c) && !isNumber(c) }
}
