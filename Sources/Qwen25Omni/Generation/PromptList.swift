import Foundation
import OmniCore

/// One prompt of a prompt list (`omni generate --prompts FILE.jsonl`): the user text, an optional system prompt,
/// and the generation options of its line (the defaults where the line says nothing).
public struct PromptRequest: Sendable {
    /// 1-based line of the file it came from.
    public var line: Int
    /// The user turn.
    public var prompt: String
    /// The system prompt (nil: the model's default).
    public var system: String?
    /// What to generate for it.
    public var options: GenerationOptions
}

/// A JSON Lines prompt list: one object a line, `{"prompt": "…"}` with optional `system`, `max_new_tokens`,
/// `min_new_tokens`, `greedy`, `temperature`, `top_k`, `top_p`, `repetition_penalty`, `seed`. Blank lines are
/// skipped. A line that is not an object, lacks `prompt`, has a key not listed here, or a value of the wrong type
/// or out of range is an `OmniError.config` naming the file, `line N.key` and what was expected.
public enum PromptList {
    /// Keys a line may have.
    public static let keys: Set<String> = ["prompt", "system", "max_new_tokens", "min_new_tokens", "greedy", "temperature",
                                           "top_k", "top_p", "repetition_penalty", "seed"]

    /// Parses `data` (the contents of `file`); `defaults` fills what a line leaves out. At least one prompt.
    public static func parse(_ data: Data, file: String, defaults: GenerationOptions,
                             maxNewTokens: ClosedRange<Int> = 0...(1 << 20)) throws -> [PromptRequest] {
        guard let text = String(data: data, encoding: .utf8) else {
            throw OmniError.io(path: file, reason: "not UTF-8 text")
        }
        var out: [PromptRequest] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            out.append(try request(line, number: i + 1, file: file, defaults: defaults, maxNewTokens: maxNewTokens))
        }
        guard !out.isEmpty else {
            throw OmniError.config(file: file, keyPath: "line 1", expected: "at least one {\"prompt\": …} line", actual: "no lines")
        }
        return out
    }

    static func request(_ line: String, number n: Int, file: String, defaults: GenerationOptions,
                        maxNewTokens: ClosedRange<Int>) throws -> PromptRequest {
        func bad(_ key: String?, _ expected: String, _ actual: String) -> OmniError {
            .config(file: file, keyPath: key.map { "line \(n).\($0)" } ?? "line \(n)", expected: expected, actual: actual)
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
        } catch {
            throw bad(nil, "one JSON object", "not valid JSON")
        }
        guard let obj = value.objectValue else { throw bad(nil, "a JSON object", value.typeName) }
        if let extra = obj.keys.filter({ !keys.contains($0) }).sorted().first {
            throw bad(extra, "one of \(keys.sorted().joined(separator: ", "))", "an unknown key")
        }
        func string(_ k: String) throws -> String? {
            guard let v = obj[k] else { return nil }
            guard case let .string(s) = v else { throw bad(k, "a string", v.typeName) }
            return s
        }
        func int(_ k: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = obj[k] else { return nil }
            guard case let .int(i) = v else { throw bad(k, "an integer \(range.lowerBound) … \(range.upperBound)", v.summary) }
            guard range.contains(i) else { throw bad(k, "an integer \(range.lowerBound) … \(range.upperBound)", "\(i)") }
            return i
        }
        func number(_ k: String, _ ok: (Double) -> Bool, _ expected: String) throws -> Float? {
            guard let v = obj[k] else { return nil }
            let d: Double
            switch v {
            case let .int(i): d = Double(i)
            case let .double(x): d = x
            default: throw bad(k, expected, v.typeName)
            }
            guard ok(d) else { throw bad(k, expected, "\(d)") }
            return Float(d)
        }
        guard let prompt = try string("prompt") else { throw bad("prompt", "a string (the user turn)", "missing") }
        var o = defaults
        o.maxNewTokens = try int("max_new_tokens", maxNewTokens) ?? o.maxNewTokens
        var s = o.sampling
        s.minNewTokens = try int("min_new_tokens", 0...o.maxNewTokens) ?? s.minNewTokens
        let t = try number("temperature", { $0 > 0 && $0 <= 100 }, "a number > 0 and ≤ 100")
        let k = try int("top_k", 0...Int(Int32.max))
        let p = try number("top_p", { $0 > 0 && $0 <= 1 }, "a number in (0, 1]")
        if let t { s.temperature = t }
        if let k { s.topK = k }
        if let p { s.topP = p }
        if t != nil || k != nil || p != nil { s.greedy = false }
        if let v = obj["greedy"] {
            guard case let .bool(g) = v else { throw bad("greedy", "true or false", v.typeName) }
            s.greedy = g
        }
        s.repetitionPenalty = try number("repetition_penalty", { $0 > 0 && $0 <= 100 }, "a number > 0 and ≤ 100")
            ?? s.repetitionPenalty
        if let seed = try int("seed", 0...Int.max) { s.seed = UInt64(seed) }
        o.sampling = s
        return PromptRequest(line: n, prompt: prompt, system: try string("system"), options: o)
    }
}

/// What one prompt of a list produced.
public struct PromptResult: Sendable, Equatable {
    /// The request's line in its file.
    public var line: Int
    /// Generated token ids (EOS included when produced).
    public var tokens: [Int]
    /// Their text, special tokens left out.
    public var text: String
}

extension OmniModel {
    /// Runs every request as its own session, all at once (admission bounds how many hold a KV cache; decode steps
    /// are batched on `decoder`), and hands the results to `onResult` in input order as soon as each one and all
    /// before it are done. Every request's length is checked against the model's positions before any starts
    /// (an error names its line).
    public func generate(_ requests: [PromptRequest], file: String,
                         onResult: @escaping @Sendable (PromptResult) throws -> Void) async throws {
        let prompts = requests.map { chatPrompt($0.prompt, system: $0.system) }
        for (r, ids) in zip(requests, prompts) {
            do {
                try CheckpointLimits.checkPositions(promptTokens: ids.count, maxNewTokens: r.options.maxNewTokens, config: config)
            } catch let OmniError.invalidArgument(_, expected, actual) {
                throw OmniError.config(file: file, keyPath: "line \(r.line).max_new_tokens", expected: expected, actual: actual)
            }
        }
        try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for (i, (r, ids)) in zip(requests, prompts).enumerated() {
                group.addTask { (i, try await self.generateBatched(ids: ids, options: r.options)) }
            }
            var done: [Int: [Int]] = [:], next = 0
            for try await (i, tokens) in group {
                done[i] = tokens
                while let t = done.removeValue(forKey: next) {
                    try onResult(PromptResult(line: requests[next].line, tokens: t,
                                              text: tokenizer.decode(t, skipSpecialTokens: true)))
                    next += 1
                }
            }
        }
    }
}
