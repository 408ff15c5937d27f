#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OmniCore

/// The entries of a zip archive held in a mapped file, as PyTorch writes them (stored, never compressed;
/// ZIP64 for large checkpoints). Compressed or encrypted entries are refused; every offset is checked
/// against the file before it is used.
struct ZipArchive {
    /// One stored member: its name and where its bytes lie in the file.
    struct Entry {
        var name: String
        var dataRange: Range<Int>
    }

    /// Members by name.
    let entries: [String: Entry]

    /// Reads the central directory of `file` through `r` (which reads the same file).
    init(file: MappedFile, reader r: ByteReader) throws {
        let path = file.path
        func fail(_ reason: String, _ member: String? = nil) -> OmniError {
            .weightFile(file: path, tensor: member, reason: reason)
        }
        guard file.byteCount >= 22 else { throw fail("truncated zip: \(file.byteCount) bytes, no end record") }

        // End of central directory: the last 0x06054b50 within the final 64 KiB + 22 bytes.
        var eocd = -1
        var p = file.byteCount - 22
        let lowest = max(0, file.byteCount - 22 - 65_535)
        while p >= lowest {
            if r.u32(p) == 0x0605_4b50 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("truncated or not a zip: no end-of-central-directory record") }
        var count = Int(r.u16(eocd + 10) ?? 0)
        var cdSize = Int(r.u32(eocd + 12) ?? 0)
        var cdOffset = Int(r.u32(eocd + 16) ?? 0)
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64: a 20-byte locator precedes the end record and points at the ZIP64 end record.
            guard eocd >= 20, r.u32(eocd - 20) == 0x0706_4b50, let at = r.u64(eocd - 12),
                  file.byteCount >= 56, at <= UInt64(file.byteCount - 56), r.u32(Int(at)) == 0x0606_4b50,
                  let c = r.u64(Int(at) + 32), let s = r.u64(Int(at) + 40), let o = r.u64(Int(at) + 48),
                  c <= UInt64(file.byteCount), s <= UInt64(file.byteCount), o <= UInt64(file.byteCount) else {
                throw fail("corrupt ZIP64 end record")
            }
            count = Int(c); cdSize = Int(s); cdOffset = Int(o)
        }
        guard cdOffset <= file.byteCount, cdSize <= file.byteCount - cdOffset else {
            throw fail("central directory (\(cdSize) bytes at \(cdOffset)) lies outside the file")
        }

        var entries: [String: Entry] = [:]
        var at = cdOffset
        let cdEnd = cdOffset + cdSize
        for _ in 0..<count {
            guard at + 46 <= cdEnd, r.u32(at) == 0x0201_4b50 else {
                throw fail("corrupt central directory entry at byte \(at)")
            }
            let flags = r.u16(at + 8) ?? 0
            let method = r.u16(at + 10) ?? 0
            var csize = UInt64(r.u32(at + 20) ?? 0)
            var usize = UInt64(r.u32(at + 24) ?? 0)
            let nameLen = Int(r.u16(at + 28) ?? 0), extraLen = Int(r.u16(at + 30) ?? 0)
            let commentLen = Int(r.u16(at + 32) ?? 0)
            var local = UInt64(r.u32(at + 42) ?? 0)
            guard at + 46 + nameLen + extraLen + commentLen <= cdEnd else {
                throw fail("central directory entry at byte \(at) runs past the directory")
            }
            guard let nameBytes = r.bytes(at + 46, nameLen) else { throw fail("unreadable member name at byte \(at)") }
            let name = String(decoding: nameBytes, as: UTF8.self)
            // ZIP64 extra field (id 1): the 0xFFFFFFFF fields, in the order usize, csize, local offset.
            var e = at + 46 + nameLen
            let extraEnd = e + extraLen
            while e + 4 <= extraEnd {
                let id = r.u16(e) ?? 0, len = Int(r.u16(e + 2) ?? 0)
                guard e + 4 + len <= extraEnd else { throw fail("corrupt extra field", name) }
                if id == 1 {
                    var f = e + 4
                    if usize == 0xFFFF_FFFF, f + 8 <= e + 4 + len { usize = r.u64(f) ?? 0; f += 8 }
                    if csize == 0xFFFF_FFFF, f + 8 <= e + 4 + len { csize = r.u64(f) ?? 0; f += 8 }
                    if local == 0xFFFF_FFFF, f + 8 <= e + 4 + len { local = r.u64(f) ?? 0; f += 8 }
                }
                e += 4 + len
            }
            guard flags & 1 == 0 else { throw fail("encrypted zip member", name) }
            guard method == 0 else {
                throw fail("zip member is compressed (method \(method)); torch checkpoints store members "
                           + "uncompressed: re-save with torch.save", name)
            }
            guard csize == usize else { throw fail("stored member with compressed size \(csize) ≠ size \(usize)", name) }
            // The local header is read on its own (30 bytes): members lie far apart in a large archive.
            guard local <= UInt64(Int.max), let lh = r.bytes(Int(local), 30),
                  lh[0] == 0x50, lh[1] == 0x4B, lh[2] == 0x03, lh[3] == 0x04 else {
                throw fail("local header at byte \(local) is missing or outside the file", name)
            }
            let start = Int(local) + 30 + (Int(lh[26]) | Int(lh[27]) << 8) + (Int(lh[28]) | Int(lh[29]) << 8)
            guard usize <= UInt64(file.byteCount), start <= file.byteCount - Int(usize) else {
                throw fail("member data (\(usize) bytes at \(start)) runs past the end of the file", name)
            }
            entries[name] = Entry(name: name, dataRange: start..<(start + Int(usize)))
            at += 46 + nameLen + extraLen + commentLen
        }
        self.entries = entries
    }
}

/// Little-endian reads of a file through `pread` and a 64 KiB window, returning nil instead of reading
/// out of bounds. Not through the mapping: a page fault on a fresh mapping makes the kernel read its whole
/// readahead window (8 MiB on our CI disk) around it, at both ends of a multi-gigabyte archive.
final class ByteReader {
    /// File size in bytes.
    let size: Int
    private let fd: Int32
    private var window: [UInt8] = []
    private var windowStart = 0

    /// Opens `path` (of `size` bytes) for reading.
    init(path: String, size: Int) throws {
        fd = try RegularFile.open(path)
        self.size = size
    }

    deinit { close(fd) }

    func u16(_ at: Int) -> UInt16? { read(at, 2).map { UInt16(truncatingIfNeeded: $0) } }
    func u32(_ at: Int) -> UInt32? { read(at, 4).map { UInt32(truncatingIfNeeded: $0) } }
    func u64(_ at: Int) -> UInt64? { read(at, 8) }

    /// `count` bytes from `at`, or nil when out of bounds or unreadable.
    func bytes(_ at: Int, _ count: Int) -> [UInt8]? {
        guard at >= 0, count >= 0, at <= size - count else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        let ok = out.withUnsafeMutableBytes { buf -> Bool in
            guard let base = buf.baseAddress else { return true }
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(at + done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
        return ok ? out : nil
    }

    private func read(_ at: Int, _ n: Int) -> UInt64? {
        guard at >= 0, at <= size - n else { return nil }
        if at < windowStart || at + n > windowStart + window.count {
            let start = max(0, at - 32_768)
            guard let w = bytes(start, min(65_536, size - start)) else { return nil }
            window = w
            windowStart = start
        }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(window[at - windowStart + i]) << (8 * UInt64(i)) }
        return v
    }
}
