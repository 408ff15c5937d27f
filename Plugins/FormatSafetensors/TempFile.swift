#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import OmniCore

/// A file written under a temporary name in its final folder and renamed into place by `commit`,
/// so that readers never see a half-written file. `discard` (or failing before `commit`) removes it.
final class TempFile {
    /// Where the file will end up.
    let destination: URL
    /// The temporary path being written.
    let tempPath: String
    private var fd: Int32

    /// Creates `.<name>.tmp-<random>` next to `destination`.
    init(destination: URL) throws {
        self.destination = destination
        let dir = destination.deletingLastPathComponent().path
        self.tempPath = dir + "/." + destination.lastPathComponent + ".tmp-" + UUID().uuidString.prefix(8)
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OmniError.io(path: tempPath, reason: String(cString: strerror(errno))) }
    }

    /// Appends `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = posixWrite(fd, base + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw OmniError.io(path: tempPath, reason: "write failed: " + String(cString: strerror(errno)))
            }
            done += n
        }
    }

    /// Appends `bytes`.
    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Flushes and closes the temporary file (it is still under its temporary name).
    func finish() throws {
        guard fd >= 0 else { return }
        defer { fd = -1 }
        if fsync(fd) != 0 || close(fd) != 0 {
            throw OmniError.io(path: tempPath, reason: "flush failed: " + String(cString: strerror(errno)))
        }
    }

    /// Renames the finished file to `destination`.
    func commit() throws {
        try finish()
        guard rename(tempPath, destination.path) == 0 else {
            throw OmniError.io(path: destination.path, reason: "rename failed: " + String(cString: strerror(errno)))
        }
    }

    /// Closes and removes the temporary file.
    func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(tempPath)
    }
}

#if canImport(Glibc)
private let posixWrite = Glibc.write
#else
private let posixWrite = Darwin.write
#endif
