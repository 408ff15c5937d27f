#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OmniCore

/// Reads a byte range with `pread`, not through the mapping: a page fault on a fresh mapping makes the
/// kernel read around it (the device's whole readahead window, 8 MiB on our CI disk), while a small
/// `pread` reads little more than it asks for. Headers are read this way; tensor data stays mapped.
enum FileRead {
    /// The size of `path` in bytes. Throws `OmniError.io` when it cannot be examined.
    static func size(_ path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw OmniError.io(path: path, reason: String(cString: strerror(errno))) }
        return Int(st.st_size)
    }

    /// `count` bytes of `path` from `offset`. Throws `OmniError.io` on failure or a short file.
    static func bytes(_ path: String, offset: Int, count: Int) throws -> [UInt8] {
        let fd = try RegularFile.open(path)
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        try out.withUnsafeMutableBytes { buf in
            guard let base = buf.baseAddress else { return }
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset + done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    throw OmniError.io(path: path, reason: n < 0 ? String(cString: strerror(errno))
                                                                : "file shorter than expected while reading its header")
                }
                done += n
            }
        }
        return out
    }
}
