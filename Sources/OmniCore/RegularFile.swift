#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Opens model files as regular files only. A FIFO, socket or device node in a model folder would make a
/// plain `open` or read block forever (or read without end), so every reader of model input opens through
/// here: `O_NONBLOCK` for the open itself, `fstat`, and a typed error unless the file is regular.
public enum RegularFile {
    /// A read-only descriptor of the regular file at `path` (blocking mode, close-on-exec). The caller closes it.
    /// Throws `OmniError.io` naming the path, and saying which kind of file it is when it is not regular.
    public static func open(_ path: String) throws -> Int32 {
        #if canImport(Glibc)
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #else
        let fd = Darwin.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        #endif
        guard fd >= 0 else { throw OmniError.io(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw OmniError.io(path: path, reason: reason)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw OmniError.io(path: path, reason: "expected a regular file, found \(kind(st.st_mode))")
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        return fd
    }

    /// The whole regular file at `path`; `limit` bounds its size (a typed error beyond it, before reading).
    public static func read(_ path: String, limit: Int = 1 << 31) throws -> Data {
        let fd = try open(path)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OmniError.io(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        guard size <= limit else {
            throw OmniError.io(path: path, reason: "file of \(ByteCount(size)) is larger than the \(ByteCount(limit)) accepted")
        }
        var data = Data(count: size)
        var done = 0
        try data.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) in
            guard let base = buf.baseAddress else { return }
            while done < size {
                let n = pread(fd, base + done, size - done, off_t(done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    throw OmniError.io(path: path, reason: n < 0 ? String(cString: strerror(errno)) : "file shrank while being read")
                }
                done += n
            }
        }
        return data
    }

    /// Whether `path` exists and is a regular file (following symlinks); false for anything else.
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// "a FIFO", "a directory"… for a `st_mode`.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a directory"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }
}
