import CZstd
import Foundation
import OmniCore

/// Compresses and decompresses tensors chunk by chunk (see `OMZLayout`), on several threads.
public enum ZstdCodec {
    /// Bytes per unit: the element size for f32/f16/bf16 (split into planes), 1 for everything else.
    static func unitBytes(_ dtype: DType) -> Int { dtype.isFloatingPoint ? dtype.blockBytes : 1 }

    /// One compressed frame; `raw` when zstd could not shrink the plane and its bytes are stored as they are.
    struct Frame { var bytes: [UInt8]; var hash: UInt64; var raw: Bool }

    /// Where a frame is, as the decoder needs it (no strings, so no reference counting per chunk).
    struct FrameRef: Sendable { var offset: Int; var size: Int; var hash: UInt64; var raw: Bool }

    /// Compresses `byteCount` bytes of `dtype` at `src` into frames (chunk-major, plane-minor).
    static func compress(_ src: UnsafeRawPointer, byteCount: Int, dtype: DType, chunkUnits: Int, level: Int32,
                         minMatch: Int32, threads: Int, what: String) throws -> [Frame] {
        let ub = unitBytes(dtype), planes = BytePlanes.count(for: dtype)
        let units = byteCount / ub
        let chunks = (units + chunkUnits - 1) / chunkUnits
        var frames = [Frame](repeating: Frame(bytes: [], hash: 0, raw: false), count: chunks * planes)
        let errors = ErrorBox()
        let workers = max(1, min(threads, chunks))
        let srcBox = UnsafeSendable(src)
        frames.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendable(out)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                guard let cctx = ZSTD_createCCtx() else { return errors.set(OmniError.io(path: what, reason: "ZSTD_createCCtx failed")) }
                defer { ZSTD_freeCCtx(cctx) }
                ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
                if minMatch > 0 { ZSTD_CCtx_setParameter(cctx, ZSTD_c_minMatch, minMatch) }
                let scratch = (0..<planes).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: chunkUnits) }
                defer { scratch.forEach { $0.deallocate() } }
                let bound = ZSTD_compressBound(chunkUnits)
                let dst = UnsafeMutableRawPointer.allocate(byteCount: bound, alignment: 64)
                defer { dst.deallocate() }
                var c = w
                while c < chunks, !errors.isSet {
                    let n = min(chunkUnits, units - c * chunkUnits)
                    let from = srcBox.value + c * chunkUnits * ub
                    let planePtrs: [UnsafeRawPointer]
                    if planes == 1 {
                        planePtrs = [from]
                    } else {
                        BytePlanes.split(from, n: n, elementBytes: ub, into: scratch)
                        planePtrs = scratch.map { UnsafeRawPointer($0) }
                    }
                    for p in 0..<planes {
                        let r = ZSTD_compress2(cctx, dst, bound, planePtrs[p], n)
                        if ZSTD_isError(r) != 0 {
                            return errors.set(OmniError.io(path: what, reason: "zstd: " + String(cString: ZSTD_getErrorName(r))))
                        }
                        // Incompressible planes (mantissas) are kept raw: decoding reads them from the mapping.
                        let raw = r >= n
                        let buf = raw ? UnsafeRawBufferPointer(start: planePtrs[p], count: n) : UnsafeRawBufferPointer(start: dst, count: r)
                        out.value[c * planes + p] = Frame(bytes: Array(buf), hash: XXH64.hash(buf), raw: raw)
                    }
                    c += workers
                }
            }
        }
        if let e = errors.error { throw e }
        return frames
    }

    /// Decompresses a tensor's frames from `file` into `dst` (`byteCount` bytes), checking every frame's
    /// checksum first. Errors name `path` and `tensor`.
    static func decompress(_ name: String, frames: [FrameRef], planes: Int, chunkUnits: Int, dtype: DType, byteCount: Int,
                           from file: MappedFile, into dst: UnsafeMutableRawPointer, threads: Int, path: String) throws {
        let ub = unitBytes(dtype)
        let units = byteCount / ub
        let chunks = (units + chunkUnits - 1) / chunkUnits
        let errors = ErrorBox()
        let workers = max(1, min(threads, chunks))
        let dstBox = UnsafeSendable(dst)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            guard let dctx = ZSTD_createDCtx() else { return errors.set(OmniError.io(path: path, reason: "ZSTD_createDCtx failed")) }
            defer { ZSTD_freeDCtx(dctx) }
            let scratch = planes == 1 ? [] : (0..<planes).map { _ in UnsafeMutablePointer<UInt8>.allocate(capacity: chunkUnits) }
            defer { scratch.forEach { $0.deallocate() } }
            var sources = scratch.map { UnsafePointer($0) }
            func fail(_ c: Int, _ p: Int, _ why: String) {
                errors.set(OmniError.weightFile(file: path, tensor: name, reason: "chunk \(c) plane \(p): \(why)"))
            }
            var c = w
            while c < chunks, !errors.isSet {
                let n = min(chunkUnits, units - c * chunkUnits)
                let to = dstBox.value + c * chunkUnits * ub
                for p in 0..<planes {
                    let f = frames[c * planes + p]
                    let bytes = file.bytes(f.offset..<f.offset + f.size)
                    let got = XXH64.hash(bytes)
                    guard got == f.hash else {
                        return fail(c, p, "checksum mismatch (XXH64 \(String(got, radix: 16).leftPadded(16)), index says "
                                    + "\(String(f.hash, radix: 16).leftPadded(16))): the file is corrupt")
                    }
                    guard let base = bytes.baseAddress else { return fail(c, p, "empty frame") }
                    if f.raw {
                        guard f.size == n else { return fail(c, p, "raw frame of \(f.size) bytes, expected \(n)") }
                        if planes == 1 { to.copyMemory(from: base, byteCount: n) } else { sources[p] = base.assumingMemoryBound(to: UInt8.self) }
                        continue
                    }
                    let out: UnsafeMutableRawPointer = planes == 1 ? to : UnsafeMutableRawPointer(scratch[p])
                    let r = ZSTD_decompressDCtx(dctx, out, n, base, f.size)
                    guard ZSTD_isError(r) == 0, r == n else {
                        return fail(c, p, "zstd: " + (ZSTD_isError(r) != 0 ? String(cString: ZSTD_getErrorName(r)) : "\(r) bytes, expected \(n)"))
                    }
                    if planes > 1 { sources[p] = UnsafePointer(scratch[p]) }
                }
                if planes > 1 { BytePlanes.merge(sources, n: n, elementBytes: ub, into: to) }
                c += workers
            }
        }
        if let e = errors.error { throw e }
    }
}

/// The first error any worker hit.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?
    var error: Error? { lock.lock(); defer { lock.unlock() }; return first }
    var isSet: Bool { error != nil }
    func set(_ e: Error) { lock.lock(); if first == nil { first = e }; lock.unlock() }
}

/// Hands a pointer to concurrent workers that write disjoint parts of it.
struct UnsafeSendable<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

extension String {
    /// Left-padded with zeros to `width`.
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
