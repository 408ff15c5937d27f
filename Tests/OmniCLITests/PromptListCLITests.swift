import Foundation
import OmniTestSupport
import XCTest

/// `omni generate --prompts FILE.jsonl`: one JSON line per prompt in input order, each the tokens `--prompt` gets
/// alone (greedy); a bad line is an error naming the file and the line.
final class PromptListCLITests: XCTestCase {
    func testPromptsFileGivesEachPromptsOwnTokensInOrder() throws {
        let dir = try temporaryDirectory("omni-prompts")
        let file = dir.appendingPathComponent("p.jsonl")
        let prompts = ["Tell me a story.", "hi", "Why is the sky blue?", "2 + 2"]
        let news = [5, 9, 3, 7]
        var lines = zip(prompts, news).map { "{\"prompt\": \"\($0)\", \"max_new_tokens\": \($1)}" }
        lines.insert("", at: 2)   // blank lines are skipped, and line numbers still count them
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let r = try OmniCLI.run(["generate", Fixtures.tinyModel.path, "--prompts", file.path, "--batch", "3"])
        XCTAssertEqual(r.status, 0, r.err)
        let out = r.out.split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(out.count, prompts.count, r.out)
        XCTAssertEqual(out.map { $0?["line"] as? Int }, [1, 2, 4, 5])
        for (i, p) in prompts.enumerated() {
            let alone = try OmniCLI.run(["generate", Fixtures.tinyModel.path, "--prompt", p, "--max-new-tokens", "\(news[i])", "--json"])
            XCTAssertEqual(alone.status, 0, alone.err)
            let a = try JSONSerialization.jsonObject(with: Data(alone.out.utf8)) as? [String: Any]
            XCTAssertEqual(out[i]?["tokens"] as? [Int], a?["tokens"] as? [Int], p)
        }
    }

    func testBadLinesAreErrorsNamingTheLine() throws {
        let dir = try temporaryDirectory("omni-prompts")
        let cases: [(String, [String])] = [
            ("{\"prompt\": \"a\"}\n{\"prompt\": 3}", ["line 2.prompt", "a string"]),
            ("{\"prompt\": \"a\"}\n\n[1]", ["line 3", "a JSON object"]),
            ("{\"prompt\": \"a\", \"max_new_tokens\": -1}", ["line 1.max_new_tokens", "an integer"]),
            ("{\"prompt\": \"a\", \"temprature\": 1}", ["line 1.temprature", "unknown key"]),
            ("{\"system\": \"a\"}", ["line 1.prompt", "missing"]),
            ("{\"prompt\": \"a\"", ["line 1", "not valid JSON"]),
            ("\n\n", ["at least one"]),
        ]
        for (i, (text, needles)) in cases.enumerated() {
            let file = dir.appendingPathComponent("bad\(i).jsonl")
            try Data(text.utf8).write(to: file)
            let r = try OmniCLI.run(["generate", Fixtures.tinyModel.path, "--prompts", file.path])
            XCTAssertNotEqual(r.status, 0, text)
            XCTAssertTrue(r.out.isEmpty, "\(text): \(r.out)")
            for n in needles + ["bad\(i).jsonl"] { XCTAssertTrue(r.err.contains(n), "\(text): \(r.err)") }
        }
        let both = try OmniCLI.run(["generate", Fixtures.tinyModel.path, "--prompts", "x.jsonl", "--prompt", "hi"])
        XCTAssertNotEqual(both.status, 0)
    }
}
