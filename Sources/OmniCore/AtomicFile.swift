#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file written under a temporary sibling name (`.name.tmp-XXXX`) and renamed into place by `commit()`,
/// so readers never see a half-written file. Dropping it (or `discard()`) before `commit()` removes the
/// temporary: a failed write leaves nothing behind. Writes are buffered (1 MiB).
public final class AtomicFile {
    /// Where the file will end up.
    public let destination: URL
    /// The temporary path being written.
    public let tempPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var committed = false
    /// Bytes written so far (buffered included).
    public private(set) var offset = 0

    /// Creates the temporary next to `destination` (the folder must exist).
    public init(destination: URL) throws {
        self.destination = destination
        tempPath = destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OmniError.io(path: tempPath, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(1 << 20)
    }

    /// Same, from a path.
    public convenience init(path: String) throws { try self.init(destination: URL(fileURLWithPath: path)) }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        offset += bytes.count
        if buffer.count + bytes.count <= 1 << 20 {
            buffer.append(contentsOf: bytes)
            return
        }
        try flush()
        try raw(bytes)
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Appends `n` zero bytes (alignment padding).
    public func writeZeros(_ n: Int) throws { if n > 0 { try write([UInt8](repeating: 0, count: n)) } }

    /// Writes the buffer out.
    public func flush() throws {
        try buffer.withUnsafeBytes { try raw($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Overwrites already-written bytes at `at` (a header whose fields are known last).
    public func patch(at: Int, _ bytes: [UInt8]) throws {
        try flush()
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(at)) }
        guard n == bytes.count else { throw OmniError.io(path: tempPath, reason: "pwrite: " + String(cString: strerror(errno))) }
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

    /// Flushes, syncs and closes the temporary (still under its temporary name), so several files can be
    /// completed before any is renamed.
    public func finish() throws {
        guard fd >= 0 else { return }
        try flush()
        defer { fd = -1 }
        if fsync(fd) != 0 || close(fd) != 0 {
            throw OmniError.io(path: tempPath, reason: "flush failed: " + String(cString: strerror(errno)))
        }
    }

    /// Finishes and renames the temporary onto `destination`.
    public func commit() throws {
        try finish()
        guard rename(tempPath, destination.path) == 0 else {
            throw OmniError.io(path: destination.path, reason: "rename: " + String(cString: strerror(errno)))
        }
        committed = true
    }

    /// Closes and removes the temporary.
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        if !committed { unlink(tempPath) }
    }

    deinit { discard() }
}
