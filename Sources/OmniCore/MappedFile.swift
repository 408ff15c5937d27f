#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Unmapped when the last reference goes away.
///
/// `prefetch` and `release` let the disk tier page a layer's weights in before use and drop them after,
/// so resident memory stays inside a budget.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// First byte of the mapping (nil-equivalent for an empty file: a dangling but never-read pointer).
    public let base: UnsafeRawPointer
    /// File size in bytes.
    public let byteCount: Int
    private let mapped: Bool

    /// Maps `path` read-only. Throws `OmniError.io` naming the path when it cannot be opened or mapped.
    public init(path: String) throws {
        self.path = path
        let fd = try RegularFile.open(path)  // a FIFO or device node is an error, never a blocking open
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OmniError.io(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(st.st_size)
        self.byteCount = size
        if size == 0 {
            self.base = UnsafeRawPointer(bitPattern: 64)!
            self.mapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw OmniError.io(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        self.base = UnsafeRawPointer(p)
        self.mapped = true
    }

    /// The bytes in `range` (no copy). Precondition: inside the file.
    public func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= byteCount)
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Asks the kernel to read `range` ahead (madvise WILLNEED).
    public func prefetch(_ range: Range<Int>) { advise(range, MADV_WILLNEED) }

    /// Lets the kernel drop the pages of `range` (madvise DONTNEED); they are read again on next use.
    public func release(_ range: Range<Int>) { advise(range, MADV_DONTNEED) }

    private func advise(_ range: Range<Int>, _ advice: Int32) {
        guard mapped, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(byteCount, range.upperBound)
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, advice)
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
    }
}

extension MappedFile {
    /// True when the regular file at `path` starts with `magic` (reads only those bytes; false for unreadable
    /// paths and for FIFOs and device nodes, which are never opened blocking).
    public static func hasMagic(_ path: String, _ magic: [UInt8]) -> Bool {
        guard let fd = try? RegularFile.open(path) else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: magic.count)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, magic.count, 0) }
        return n == magic.count && head == magic
    }
}
