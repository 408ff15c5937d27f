import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The binary cache of a parsed tokenizer.json: used only while it matches the source, never trusted when corrupt.
final class TokenizerCacheTests: XCTestCase {
    /// The tiny tokenizer.json padded past the cache's size floor with trailing whitespace (still the same JSON).
    private func bigTokenizer() throws -> (dir: URL, json: String) {
        let dir = try temporaryDirectory("omni-tokcache")
        var data = try Data(contentsOf: Fixtures.tinyModel.appendingPathComponent("tokenizer.json"))
        data.append(Data(repeating: 0x20, count: TokenizerCache.minimumSourceBytes))
        let json = dir.appendingPathComponent("tokenizer.json").path
        try data.write(to: URL(fileURLWithPath: json))
        return (dir, json)
    }

    private func parsed(_ path: String) throws -> TokenizerContents {
        try TokenizerContents(TokenizerFiles.readTokenizerJSON(path))
    }

    private func sample() -> [String] {
        ["Hello, world! The GPU memory is 64GB.", "<|im_start|>user\nwörld 你好<|im_end|>", "  spaces\n\n\ttabs 123456"]
    }

    func testFirstLoadWritesTheCacheAndLaterLoadsReadItWithTheSameResults() throws {
        let (_, json) = try bigTokenizer()
        let cachePath = TokenizerCache.path(for: json)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cachePath))
        let first = try Tokenizer(tokenizerJSON: json)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cachePath), "the first load writes the cache")
        // A valid cache is used: the parse is not called.
        let cached = try TokenizerCache.contents(of: json) { throw OmniError.io(path: json, reason: "parsed although cached") }
        let fromCache = Tokenizer(cached)
        for text in sample() {
            XCTAssertEqual(fromCache.encode(text), TinyTokenizer.shared.encode(text), text)
            XCTAssertEqual(first.encode(text), TinyTokenizer.shared.encode(text), text)
            XCTAssertEqual(fromCache.decode(fromCache.encode(text)), text)
        }
        XCTAssertEqual(fromCache.vocabularySize, TinyTokenizer.shared.vocabularySize)
        XCTAssertEqual(fromCache.addedTokens, TinyTokenizer.shared.addedTokens)
        // The round trip keeps every token and merge.
        let original = try parsed(json)
        XCTAssertEqual(cached.vocabulary.vocab, original.vocabulary.vocab)
        XCTAssertEqual(cached.vocabulary.merges, original.vocabulary.merges)
        XCTAssertEqual(cached.normalizeNFC, original.normalizeNFC)
    }

    func testCorruptOrTruncatedCacheFallsBackToTheSourceAndIsRewritten() throws {
        let (_, json) = try bigTokenizer()
        let cachePath = TokenizerCache.path(for: json)
        _ = try Tokenizer(tokenizerJSON: json)
        let good = try Data(contentsOf: URL(fileURLWithPath: cachePath))
        var flipped = good
        flipped[good.count / 2] ^= 0x40
        for bad in [flipped, good.prefix(good.count - 5), good.prefix(20), Data("not a cache".utf8), Data()] {
            try bad.write(to: URL(fileURLWithPath: cachePath))
            var parses = 0
            let c = try TokenizerCache.contents(of: json) { parses += 1; return try parsed(json) }
            XCTAssertEqual(parses, 1, "a damaged cache (\(bad.count) bytes) must not be used")
            XCTAssertEqual(c.vocabulary.merges, try parsed(json).vocabulary.merges)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: cachePath)), good, "rewritten")
        }
    }

    func testChangedSourceOfTheSameSizeIgnoresTheStaleCache() throws {
        let (_, json) = try bigTokenizer()
        _ = try Tokenizer(tokenizerJSON: json)
        // Swap the ids of two vocabulary tokens: same size, other content.
        var text = try String(contentsOfFile: json, encoding: .utf8)
        let tok = TinyTokenizer.shared
        let a = try XCTUnwrap(tok.token(forID: 300)), b = try XCTUnwrap(tok.token(forID: 301))
        let ka = "\"\(a)\": 300", kb = "\"\(b)\": 301"
        XCTAssertTrue(text.contains(ka) && text.contains(kb), "the fixture's vocabulary layout changed")
        text = text.replacingOccurrences(of: ka, with: "\"\(a)\": 3@@").replacingOccurrences(of: kb, with: "\"\(b)\": 300")
            .replacingOccurrences(of: "\"\(a)\": 3@@", with: "\"\(a)\": 301")
        try text.write(toFile: json, atomically: true, encoding: .utf8)
        var parses = 0
        let c = try TokenizerCache.contents(of: json) { parses += 1; return try parsed(json) }
        XCTAssertEqual(parses, 1)
        XCTAssertEqual(c.vocabulary.vocab[a], 301)
        XCTAssertEqual(Tokenizer(c).token(forID: 300), b)
    }

    func testSmallSourcesAreNotCached() throws {
        let dir = try temporaryDirectory("omni-tokcache")
        let json = dir.appendingPathComponent("tokenizer.json").path
        try FileManager.default.copyItem(atPath: Fixtures.tinyModel.appendingPathComponent("tokenizer.json").path, toPath: json)
        _ = try Tokenizer(tokenizerJSON: json)
        XCTAssertFalse(FileManager.default.fileExists(atPath: TokenizerCache.path(for: json)))
    }
}
