import CKernels
import Dispatch
import Foundation

/// Worker threads parallel regions use (the executor sets it from its `threads`).
nonisolated(unsafe) var poolThreads = System.coreCount

/// Runs `body(i)` for i in 0..<count on the kernel thread pool (CKernels/pool.c: the caller plus
/// `poolThreads − 1` workers that spin briefly between regions, then sleep) and rethrows the first error.
func parallelFor(_ count: Int, _ body: (Int) throws -> Void) throws {
    if count <= 1 { if count == 1 { try body(0) }; return }
    final class Region {
        let body: (Int) throws -> Void
        let lock = NSLock()
        var firstError: Error?
        init(_ body: @escaping (Int) throws -> Void) { self.body = body }
    }
    try withoutActuallyEscaping(body) { body in
        let region = Region(body)
        let ctx = Unmanaged.passUnretained(region).toOpaque()
        omni_pool_run(count, { ctx, i in
            let r = Unmanaged<Region>.fromOpaque(ctx!).takeUnretainedValue()
            do { try r.body(i) } catch {
                r.lock.lock(); if r.firstError == nil { r.firstError = error }; r.lock.unlock()
            }
        }, ctx, Int32(poolThreads))
        withExtendedLifetime(region) {}
        if let e = region.firstError { throw e }
    }
}

/// Splits 0..<n into `parts` contiguous ranges of near-equal size (rounded to `multiple`).
func split(_ n: Int, parts: Int, multiple: Int = 1) -> [Range<Int>] {
    let p = max(1, min(parts, (n + multiple - 1) / multiple))
    var chunk = (n + p - 1) / p
    chunk = (chunk + multiple - 1) / multiple * multiple
    return stride(from: 0, to: n, by: max(chunk, 1)).map { $0..<min(n, $0 + chunk) }
}
