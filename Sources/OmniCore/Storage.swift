#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes behind one or more tensors.
///
/// Three kinds: `owned` (64-byte aligned, freed on deinit), `mapped` (a range of an mmap'd file; keeps the
/// mapping alive as long as any tensor uses it; read-only) and `borrowed` (memory someone else owns; `owner`
/// is retained to keep it alive).
public final class Storage: @unchecked Sendable {
    /// Where the bytes come from.
    public enum Kind: Sendable {
        case owned
        case mapped(MappedFile)
        case borrowed
    }

    /// First byte.
    public let base: UnsafeMutableRawPointer
    /// Number of bytes.
    public let byteCount: Int
    /// Where the bytes come from.
    public let kind: Kind
    /// Mapped file memory is read-only: writing to it faults.
    public var isReadOnly: Bool { if case .mapped = kind { return true } else { return false } }
    private let owner: AnyObject?
    private let onFree: (@Sendable () -> Void)?

    /// Allocates `byteCount` zeroed bytes, 64-byte aligned; `onFree` runs when the storage is freed
    /// (devices use it to account memory).
    public init(zeroedByteCount byteCount: Int, onFree: (@Sendable () -> Void)? = nil) {
        precondition(byteCount >= 0, "negative allocation")
        var p: UnsafeMutableRawPointer?
        let rounded = max(64, (byteCount + 63) & ~63)
        let rc = posix_memalign(&p, 64, rounded)
        precondition(rc == 0 && p != nil, "posix_memalign(\(rounded)) failed")
        memset(p!, 0, rounded)
        self.base = p!
        self.byteCount = byteCount
        self.kind = .owned
        self.owner = nil
        self.onFree = onFree
    }

    /// A range of a mapped file. Precondition: the range lies inside the file.
    public init(file: MappedFile, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= file.byteCount, "range outside mapped file")
        self.base = UnsafeMutableRawPointer(mutating: file.base.advanced(by: range.lowerBound))
        self.byteCount = range.count
        self.kind = .mapped(file)
        self.owner = file
        self.onFree = nil
    }

    /// Memory owned by someone else; `owner` is retained for the storage's lifetime.
    public init(borrowing pointer: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject?) {
        self.base = pointer
        self.byteCount = byteCount
        self.kind = .borrowed
        self.owner = owner
        self.onFree = nil
    }

    deinit {
        if case .owned = kind { free(base) }
        onFree?()
    }
}
