import Foundation
@testable import Qwen25Omni
import XCTest

final class StreamingDetokenizerTests: XCTestCase {
    private var tok: Tokenizer { TinyTokenizer.shared }

    /// Byte-level token ids, one per UTF-8 byte of `text` (the first 256 entries of a byte-level vocabulary).
    private func byteIDs(_ text: String) throws -> [Int] {
        try text.utf8.map { b in
            try XCTUnwrap(tok.id(forToken: String(Character(ByteLevel.scalarForByte[Int(b)]))), "byte \(b)")
        }
    }

    /// Feeding one byte per id, every split point inside a multi-byte character is exercised.
    func testSplitAtEveryByteEmitsWholeTextWithoutReplacement() throws {
        let text = "a€b😀ßc日本👍🏽 é\u{10FFFF}"
        var stream = StreamingDetokenizer(tokenizer: tok)
        var out = ""
        var bytesSoFar: [UInt8] = []
        for (id, byte) in zip(try byteIDs(text), text.utf8) {
            let piece = stream.push(id)
            bytesSoFar.append(byte)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "U+FFFD after byte \(bytesSoFar.count)")
            out += piece
            // Everything emitted so far is a prefix of the text, and nothing complete is held back for long.
            XCTAssertTrue(text.utf8.starts(with: out.utf8))
            XCTAssertLessThanOrEqual(bytesSoFar.count - out.utf8.count, 3)
        }
        out += stream.finish()
        XCTAssertEqual(out, text)
    }

    func testRealTokensConcatenateToDecode() throws {
        let text = "emoji 😀👍🏽 and café naïve <|im_end|> 数字 12345"
        let ids = tok.encode(text)
        var stream = StreamingDetokenizer(tokenizer: tok)
        var out = ""
        for id in ids {
            let piece = stream.push(id)
            XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"))
            out += piece
        }
        out += stream.finish()
        XCTAssertEqual(out, text)
        XCTAssertEqual(out, tok.decode(ids))
    }

    func testInvalidBytesMatchLossyDecode() throws {
        // 0xE2 0x41: a lead byte that can never complete; 0xF0 0x28: bad second byte; a lone continuation byte;
        // and a trailing unfinished sequence flushed by finish().
        let bytes: [UInt8] = [0x41, 0xE2, 0x41, 0xF0, 0x28, 0x80, 0x42, 0xF0, 0x9F, 0x98]
        let ids = try bytes.map { b in
            try XCTUnwrap(tok.id(forToken: String(Character(ByteLevel.scalarForByte[Int(b)]))))
        }
        var stream = StreamingDetokenizer(tokenizer: tok)
        var out = ""
        for id in ids { out += stream.push(id) }
        out += stream.finish()
        XCTAssertEqual(out, tok.decode(ids))
        XCTAssertEqual(out, String(decoding: bytes, as: UTF8.self))
    }

    func testSkipSpecialTokens() {
        var stream = StreamingDetokenizer(tokenizer: tok, skipSpecialTokens: true)
        let ids = tok.encode("<|im_start|>hi<|im_end|>")
        let out = ids.map { stream.push($0) }.joined() + stream.finish()
        XCTAssertEqual(out, "hi")
    }
}
