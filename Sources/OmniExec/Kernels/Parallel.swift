import Dispatch
import Foundation

/// Runs `body(i)` for i in 0..<count on up to `count` threads and rethrows the first error.
func parallelFor(_ count: Int, _ body: (Int) throws -> Void) throws {
    if count <= 1 { if count == 1 { try body(0) }; return }
    let lock = NSLock()
    var firstError: Error?
    DispatchQueue.concurrentPerform(iterations: count) { i in
        do { try body(i) } catch {
            lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
        }
    }
    if let e = firstError { throw e }
}

/// Splits 0..<n into `parts` contiguous ranges of near-equal size (rounded to `multiple`).
func split(_ n: Int, parts: Int, multiple: Int = 1) -> [Range<Int>] {
    let p = max(1, min(parts, (n + multiple - 1) / multiple))
    var chunk = (n + p - 1) / p
    chunk = (chunk + multiple - 1) / multiple * multiple
    return stride(from: 0, to: n, by: max(chunk, 1)).map { $0..<min(n, $0 + chunk) }
}
