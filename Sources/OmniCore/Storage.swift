#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes behind one or more tensors: a buffer owned by one device (the device buffer of the backend seam).
///
/// Host kinds: `owned` (64-byte aligned, freed on deinit), `mapped` (a range of an mmap'd file; keeps the
/// mapping alive as long as any tensor uses it; read-only) and `borrowed` (memory someone else owns; `owner`
/// is retained to keep it alive). `device` is memory of another device (a GPU's allocation): it has an address
/// only that device understands and no host address; the host reads it through its backend's copy.
public final class Storage: @unchecked Sendable {
    /// Where the bytes come from.
    public enum Kind: Sendable {
        case owned
        case mapped(MappedFile)
        case borrowed
        /// Device memory at `address` in that device's address space, released by `release` on deinit.
        case device(address: UInt64)
    }

    /// The device that owns the bytes (`cpu` for host memory, mapped files included).
    public let device: DeviceID
    /// The host address of the first byte, or nil for device memory.
    private let host: UnsafeMutableRawPointer?
    /// First byte, for CPU kernels and loaders only. Precondition: host memory (`isHostAddressable`); device
    /// memory is reached through its backend (a copy to the host, or the device's own kernels).
    public var cpuAddress: UnsafeMutableRawPointer {
        guard let host else { preconditionFailure("storage on \(device) has no host address: copy it to the host through its backend") }
        return host
    }
    /// Whether the bytes have a host address (CPU memory and mapped files).
    public var isHostAddressable: Bool { host != nil }
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
    public convenience init(zeroedByteCount byteCount: Int, onFree: (@Sendable () -> Void)? = nil) {
        self.init(uninitializedByteCount: byteCount, onFree: onFree)
        memset(cpuAddress, 0, max(64, (byteCount + 63) & ~63))
    }

    /// Allocates `byteCount` bytes, 64-byte aligned, not cleared (for a buffer the caller writes whole before
    /// anything reads it); `onFree` as for `init(zeroedByteCount:onFree:)`.
    public init(uninitializedByteCount byteCount: Int, onFree: (@Sendable () -> Void)? = nil) {
        precondition(byteCount >= 0, "negative allocation")
        var p: UnsafeMutableRawPointer?
        let rounded = max(64, (byteCount + 63) & ~63)
        let rc = posix_memalign(&p, 64, rounded)
        precondition(rc == 0 && p != nil, "posix_memalign(\(rounded)) failed")
        self.host = p!
        self.device = .cpu
        self.byteCount = byteCount
        self.kind = .owned
        self.owner = nil
        self.onFree = onFree
    }

    /// A range of a mapped file. Precondition: the range lies inside the file.
    public init(file: MappedFile, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= file.byteCount, "range outside mapped file")
        self.host = UnsafeMutableRawPointer(mutating: file.base.advanced(by: range.lowerBound))
        self.device = .cpu
        self.byteCount = range.count
        self.kind = .mapped(file)
        self.owner = file
        self.onFree = nil
    }

    /// Memory owned by someone else; `owner` is retained for the storage's lifetime.
    public init(borrowing pointer: UnsafeMutableRawPointer, byteCount: Int, owner: AnyObject?) {
        self.host = pointer
        self.device = .cpu
        self.byteCount = byteCount
        self.kind = .borrowed
        self.owner = owner
        self.onFree = nil
    }

    /// Device memory: `byteCount` bytes at `address` on `device`; `onFree` releases them (and their accounting).
    public init(device: DeviceID, address: UInt64, byteCount: Int, onFree: (@Sendable () -> Void)?) {
        self.host = nil
        self.device = device
        self.byteCount = byteCount
        self.kind = .device(address: address)
        self.owner = nil
        self.onFree = onFree
    }

    deinit {
        if case .owned = kind, let host { free(host) }
        onFree?()
    }
}
