#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import OmniCore

/// Writes a file through a temporary sibling (`.name.tmp-PID-N`) that `commit()` renames into place;
/// dropping the sink without committing removes the temporary, so no partial file is ever left behind.
final class OMZFileSink {
    let finalPath: String
    let tempPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false
    /// Bytes written so far (buffered included).
    private(set) var offset = 0

    init(path: String) throws {
        finalPath = path
        let url = URL(fileURLWithPath: path)
        tempPath = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw OmniError.io(path: tempPath, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        offset += bytes.count
        if buffer.count + bytes.count <= 1 << 20 {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        try raw(bytes)
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func writeZeros(_ n: Int) throws { if n > 0 { try write([UInt8](repeating: 0, count: n)) } }

    func flush() throws {
        try buffer.withUnsafeBytes { try raw($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func raw(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            #if canImport(Glibc)
            let n = Glibc.write(fd, base + done, bytes.count - done)
            #else
            let n = Darwin.write(fd, base + done, bytes.count - done)
            #endif
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw OmniError.io(path: tempPath, reason: "write failed: " + String(cString: strerror(errno))) }
            done += n
        }
    }

    /// Overwrites already-written bytes at `at` (after flushing), e.g. a header whose fields come last.
    func patch(at: Int, _ bytes: [UInt8]) throws {
        try flush()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(at)) }
        guard n == bytes.count else { throw OmniError.io(path: tempPath, reason: "pwrite: " + String(cString: strerror(errno))) }
    }

    /// Flushes, syncs and renames the temporary onto the final path.
    func commit() throws {
        try flush()
        guard fsync(fd) == 0 else { throw OmniError.io(path: tempPath, reason: "fsync: " + String(cString: strerror(errno))) }
        close(fd)
        fd = -1
        guard rename(tempPath, finalPath) == 0 else {
            throw OmniError.io(path: finalPath, reason: "rename: " + String(cString: strerror(errno)))
        }
        committed = true
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(tempPath) }
    }
}
