import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The tiny checkpoint's tokenizer, loaded once for all tokenizer tests.
enum TinyTokenizer {
    static let shared: Tokenizer = {
        do {
            return try Tokenizer(directory: Fixtures.tinyModel.path)
        } catch {
            fatalError("cannot load the tiny tokenizer: \(error)")
        }
    }()
}

/// One encode/decode expectation from a fixture JSON file.
struct TokenizerCase: Decodable {
    var text: String
    var ids: [Int]
    var decoded: String
    var pieces: [String]?
    // swiftlint:disable:next identifier_name
    var decoded_skip_special: String?
}

final class TokenizerTests: XCTestCase {
    private var tok: Tokenizer { TinyTokenizer.shared }

    private struct Reference: Decodable {
        var special_ids: [String: Int]
        var cases: [TokenizerCase]
    }

    private func reference() throws -> Reference {
        let data = try Data(contentsOf: Fixtures.reference.appendingPathComponent("tokenizer.json"))
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    private func extraCases() throws -> [TokenizerCase] {
        struct File: Decodable { var cases: [TokenizerCase] }
        let data = try Data(contentsOf: Fixtures.root.appendingPathComponent("Tests/Fixtures/tokenizer_extra.json"))
        return try JSONDecoder().decode(File.self, from: data).cases
    }

    func testReferenceCasesBothDirections() throws {
        let ref = try reference()
        XCTAssertEqual(ref.cases.count, 13)
        for c in ref.cases {
            XCTAssertEqual(tok.encode(c.text), c.ids, "encode \(c.text.debugDescription)")
            XCTAssertEqual(tok.decode(c.ids), c.decoded, "decode \(c.ids)")
        }
    }

    /// The other checkpoints' tokenizers (trained on the same corpus to another vocabulary size) against
    /// their own references, special ids included.
    func testEveryCheckpointTokenizerMatchesItsReference() throws {
        for cp in Fixtures.checkpoints.dropFirst() {
            let t = try Tokenizer(directory: cp.model.path)
            let data = try Data(contentsOf: cp.reference.appendingPathComponent("tokenizer.json"))
            let ref = try JSONDecoder().decode(Reference.self, from: data)
            XCTAssertFalse(ref.cases.isEmpty, "\(cp)")
            for c in ref.cases {
                XCTAssertEqual(t.encode(c.text), c.ids, "\(cp) encode \(c.text.debugDescription)")
                XCTAssertEqual(t.decode(c.ids), c.decoded, "\(cp) decode \(c.ids)")
            }
            for (token, id) in ref.special_ids where token.hasPrefix("<") {
                XCTAssertEqual(t.id(forToken: token), id, "\(cp) \(token)")
                XCTAssertEqual(t.encode(token), [id], "\(cp) \(token)")
            }
        }
    }

    func testReferenceSpecialIDs() throws {
        for (token, id) in try reference().special_ids where token.hasPrefix("<") {
            XCTAssertEqual(tok.id(forToken: token), id, token)
            XCTAssertEqual(tok.token(forID: id), token)
            XCTAssertEqual(tok.encode(token), [id], token)
            XCTAssertTrue(tok.isSpecial(id))
        }
        XCTAssertEqual(tok.encode("user").first, try reference().special_ids["user"])
        XCTAssertEqual(tok.vocabularySize, 2040)
    }

    /// Expectations made by the Python `tokenizers` package (see scripts/make_tokenizer_cases.py).
    func testExtraCasesFromHFTokenizers() throws {
        let cases = try extraCases()
        XCTAssertGreaterThan(cases.count, 40)
        for c in cases {
            XCTAssertEqual(tok.encode(c.text), c.ids, "encode \(c.text.debugDescription)")
            XCTAssertEqual(tok.decode(c.ids), c.decoded, "decode \(c.ids)")
            if let skipped = c.decoded_skip_special {
                XCTAssertEqual(tok.decode(c.ids, skipSpecialTokens: true), skipped, "decode skipping \(c.ids)")
            }
        }
    }

    func testPreTokenizerPiecesMatchHFSplit() throws {
        for c in try extraCases() {
            guard let expected = c.pieces else { continue }
            let scalars = Array(c.text.precomposedStringWithCanonicalMapping.unicodeScalars)
            let pieces = Qwen2PreTokenizer.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
            XCTAssertEqual(pieces, expected, "pieces of \(c.text.debugDescription)")
        }
    }

    /// Cases reasoned out from the pattern by hand (independent of any generated file).
    func testPreTokenizerHandCases() {
        func pieces(_ s: String) -> [String] {
            let scalars = Array(s.unicodeScalars)
            return Qwen2PreTokenizer.split(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
        }
        // \s+(?!\S) leaves the last space for the word; the whole run at the end of text.
        XCTAssertEqual(pieces("a   b  "), ["a", "  ", " b", "  "])
        // \s*[\r\n]+ ends at the last newline of a whitespace run.
        XCTAssertEqual(pieces("a \r\n\t b"), ["a", " \r\n", "\t", " b"])
        // Contractions are case-insensitive and win over a letter run; numbers are single digits.
        XCTAssertEqual(pieces("WE'LL'S 42"), ["WE", "'LL", "'S", " ", "4", "2"])
        // Punctuation takes one leading space and trailing newlines.
        XCTAssertEqual(pieces("x ?!\n\ny"), ["x", " ?!\n\n", "y"])
    }

    func testSpecialTokensInsideText() {
        let im = 2016, end = 2017
        XCTAssertEqual(tok.encode("<|im_start|><|im_end|>"), [im, end])
        XCTAssertEqual(tok.encode("<|im_start|>"), [im])
        // An unfinished special token is ordinary text.
        XCTAssertFalse(tok.encode("<|im_start|").contains(im))
        XCTAssertEqual(tok.decode([im, 84, end], skipSpecialTokens: true), "u")
    }

    func testUnknownIDsAreSkippedByDecode() {
        XCTAssertEqual(tok.decode([39, 99_999, -1, 68]), tok.decode([39, 68]))
        XCTAssertNil(tok.token(forID: 99_999))
        XCTAssertNil(tok.id(forToken: "no such token"))
    }

    /// Without tokenizer.json the slow files give the same ids (and special tokens from the config).
    func testVocabAndMergesPathMatchesTokenizerJSON() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omni-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(at: Fixtures.tinyModel.appendingPathComponent(name),
                                             to: dir.appendingPathComponent(name))
        }
        // Added tokens as transformers writes them into tokenizer_config.json.
        var decoder: [String: Any] = [:]
        for t in tok.addedTokens {
            decoder[String(t.id)] = ["content": t.content, "special": t.special, "lstrip": false, "rstrip": false,
                                     "normalized": false, "single_word": false]
        }
        let config = try JSONSerialization.data(withJSONObject: ["added_tokens_decoder": decoder])
        try config.write(to: dir.appendingPathComponent("tokenizer_config.json"))

        let slow = try Tokenizer(directory: dir.path)
        XCTAssertEqual(slow.vocabularySize, tok.vocabularySize)
        let texts = try reference().cases.map(\.text) + extraCases().map(\.text)
        for text in texts {
            XCTAssertEqual(slow.encode(text), tok.encode(text), text.debugDescription)
        }
    }

    func testMergesAsStringsOrPairs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omni-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Data(contentsOf: Fixtures.tinyModel.appendingPathComponent("tokenizer.json"))
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        var model = try XCTUnwrap(json["model"] as? [String: Any])
        let pairs = try XCTUnwrap(model["merges"] as? [[String]])
        model["merges"] = pairs.map { $0.joined(separator: " ") }
        json["model"] = model
        let path = dir.appendingPathComponent("tokenizer.json")
        try JSONSerialization.data(withJSONObject: json).write(to: path)
        let legacy = try Tokenizer(tokenizerJSON: path.path)
        let text = "The GPU memory is 64GB; use bfloat16 + flash_attention_2!"
        XCTAssertEqual(legacy.encode(text), tok.encode(text))
    }

    func testBadFilesGiveTypedErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omni-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // No tokenizer files at all.
        XCTAssertThrowsError(try Tokenizer(directory: dir.path)) { error in
            guard case let OmniError.io(path, reason)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, dir.path)
            XCTAssertTrue(reason.contains("tokenizer.json"), reason)
        }
        // A merge whose tokens are not in the vocabulary.
        try Data(#"{"a": 0, "b": 1}"#.utf8).write(to: dir.appendingPathComponent("vocab.json"))
        try Data("#version: 0.2\na b\n".utf8).write(to: dir.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try Tokenizer(directory: dir.path)) { error in
            guard case let OmniError.config(file, keyPath, _, _)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertTrue(file.hasSuffix("merges.txt"), file)
            XCTAssertEqual(keyPath, "merges[0]")
        }
        // A malformed merges line.
        try Data("a b c\n".utf8).write(to: dir.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try Tokenizer(directory: dir.path)) { error in
            guard case let OmniError.config(_, keyPath, _, _)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertEqual(keyPath, "line 1")
        }
        // tokenizer.json with a mistyped vocabulary.
        let json = dir.appendingPathComponent("tokenizer.json")
        try Data(#"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#.utf8).write(to: json)
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: json.path)) { error in
            guard case let OmniError.config(_, keyPath, _, _)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertTrue(keyPath.hasPrefix("model.vocab"), keyPath)
        }
        // A different split pattern is refused rather than silently mis-tokenized.
        try Data(#"{"model": {"vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\s+"}}}"#
            .utf8).write(to: json)
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: json.path)) { error in
            guard case let OmniError.config(_, keyPath, _, _)? = error as? OmniError else { return XCTFail("\(error)") }
            XCTAssertEqual(keyPath, "pre_tokenizer.pattern")
        }
        // Truncated JSON.
        try Data(#"{"model": {"vocab": {"#.utf8).write(to: json)
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: json.path)) { error in
            XCTAssertNotNil(error as? OmniError, "\(error)")
        }
    }
}

extension TokenizerTests {
    /// A long unbroken run is one piece; the heap-driven merge keeps it linear-ish and matches HF's order.
    func testLongRunEncodesAndRoundTrips() {
        let tok = TinyTokenizer.shared
        let text = String(repeating: "the", count: 20_000)
        let ids = tok.encode(text)
        XCTAssertLessThan(ids.count, text.utf8.count)
        XCTAssertEqual(tok.decode(ids), text)
    }
}

extension TokenizerTests {
    /// The word cache is shared; encoding from several threads at once gives the same ids as one thread.
    func testConcurrentEncodeIsConsistent() throws {
        let tok = TinyTokenizer.shared
        let texts = try reference().cases.map(\.text)
        let expected = texts.map { tok.encode($0) }
        let results = ConcurrentResults(count: 64)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            results.set(i, tok.encode(texts[i % texts.count]) == expected[i % texts.count])
        }
        XCTAssertTrue(results.all)
    }
}

/// Thread-safe result slots for the concurrency test.
private final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Bool]
    init(count: Int) { values = Array(repeating: false, count: count) }
    func set(_ i: Int, _ v: Bool) { lock.lock(); values[i] = v; lock.unlock() }
    var all: Bool { lock.lock(); defer { lock.unlock() }; return values.allSatisfy { $0 } }
}
