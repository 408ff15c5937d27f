import Foundation
import SwiftOmni

/// `omni generate --prompts FILE.jsonl`: prints one JSON line per prompt, in input order, as `OmniModel.generate`
/// hands them over (the library runs and orders them; this only prints).
enum PromptLines {
    static func run(model: OmniModel, requests: [PromptRequest], file: String) throws {
        let failure = FailureBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            do {
                try await model.generate(requests, file: file) { r in
                    let obj: [String: Any] = ["line": r.line, "tokens": r.tokens, "text": r.text]
                    let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                    try Console.out(String(decoding: data, as: UTF8.self) + "\n", flush: true)
                }
            } catch {
                failure.error = error
            }
            done.signal()
        }
        done.wait()
        if let e = failure.error { throw e }
    }
}

/// The error a task hands to the thread waiting for it on a semaphore.
private final class FailureBox: @unchecked Sendable {
    // @unchecked: written by the task before it signals, read by the waiter after.
    var error: Error?
}
