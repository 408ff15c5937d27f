#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file written under a temporary sibling name (`.name.tmp-PID-XXXX`) and renamed into place by `commit()`,
/// so readers never see a half-written file. Dropping it (or `discard()`) before `commit()` removes the
/// temporary: a failed write leaves nothing behind. A process killed mid-write leaves its temporary; the next
/// `AtomicFile` for the same destination removes every such temporary whose process is gone. Writes are
/// buffered (1 MiB). `AtomicDirectory` does the same for a whole folder.
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
        AtomicStaging.removeStale(for: destination, kind: "tmp")
        tempPath = AtomicStaging.temporary(for: destination, kind: "tmp").path
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

/// A folder built under a temporary sibling name (`.name.partial-PID-XXXX`) and renamed into place by
/// `commit()` only when complete, so a reader (or `inspect`) never sees a folder with weights but no config.
/// `commit()` never replaces or merges into an existing destination: of concurrent writers to one path, one
/// complete result wins and the others get an error. Dropping it before `commit()` removes the temporary; a
/// killed process's temporary is removed by the next `AtomicDirectory` for the same destination.
public final class AtomicDirectory {
    /// Where the folder will end up.
    public let destination: URL
    /// The temporary folder being filled.
    public let url: URL
    private var committed = false

    /// Creates the temporary folder next to `destination` (whose parent must exist).
    public init(destination: URL) throws {
        self.destination = destination
        AtomicStaging.removeStale(for: destination, kind: "partial")
        url = AtomicStaging.temporary(for: destination, kind: "partial")
        guard mkdir(url.path, 0o755) == 0 else {
            throw OmniError.io(path: url.path, reason: "cannot create folder: " + String(cString: strerror(errno)))
        }
    }

    /// Renames the temporary onto `destination`; throws `OmniError.io` (and keeps the temporary for
    /// `discard`) when the destination exists by then.
    public func commit() throws {
        try AtomicStaging.publish(url, to: destination)
        committed = true
    }

    /// Removes the temporary folder and everything in it.
    public func discard() {
        if !committed { try? FileManager.default.removeItem(at: url) }
    }

    deinit { discard() }
}

/// Temporary names beside a destination, their clean-up, and the no-replace rename.
public enum AtomicStaging {
    /// `.NAME.KIND-PID-RANDOM` next to `destination`.
    static func temporary(for destination: URL, kind: String) -> URL {
        destination.deletingLastPathComponent()
            .appendingPathComponent(".\(destination.lastPathComponent).\(kind)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Removes `.NAME.KIND-PID-*` siblings of `destination` whose process no longer runs (left by a killed
    /// run); returns the paths removed. Those of live processes (a concurrent writer) are kept.
    @discardableResult
    public static func removeStale(for destination: URL, kind: String) -> [String] {
        let folder = destination.deletingLastPathComponent()
        let prefix = ".\(destination.lastPathComponent).\(kind)-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [] }
        var removed: [String] = []
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }), pid > 0 else { continue }
            if pid == getpid() { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // still running (ours or someone else's)
            let path = folder.appendingPathComponent(name)
            if (try? FileManager.default.removeItem(at: path)) != nil { removed.append(path.path) }
        }
        return removed
    }

    /// Moves the finished `source` (a file or folder) onto `destination`, failing instead of replacing
    /// anything already there: a file is hard-linked then unlinked (`link` fails with EEXIST), a folder is
    /// renamed (`rename` onto a non-empty folder fails; onto an existing file it is refused first).
    public static func publish(_ source: URL, to destination: URL) throws {
        var st = stat()
        guard lstat(source.path, &st) == 0 else {
            throw OmniError.io(path: source.path, reason: String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            var existing = stat()
            if lstat(destination.path, &existing) == 0 && (existing.st_mode & S_IFMT) != S_IFDIR {
                throw OmniError.io(path: destination.path, reason: "exists already (another run finished first?)")
            }
            guard rename(source.path, destination.path) == 0 else {
                let reason = errno == ENOTEMPTY || errno == EEXIST || errno == EISDIR || errno == ENOTDIR
                    ? "exists already (another run finished first?)" : "rename: " + String(cString: strerror(errno))
                throw OmniError.io(path: destination.path, reason: reason)
            }
        } else {
            guard link(source.path, destination.path) == 0 else {
                let reason = errno == EEXIST ? "exists already (another run finished first?)"
                    : "link: " + String(cString: strerror(errno))
                throw OmniError.io(path: destination.path, reason: reason)
            }
            unlink(source.path)
        }
    }
}
