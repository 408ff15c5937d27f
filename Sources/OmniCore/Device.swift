import Foundation

/// A device's identity: `cpu`, `disk`, later `cuda:0`.
public struct DeviceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `cpu`, `disk`, `cuda`…
    public var kind: String
    /// Ordinal for devices with several units (`cuda:1`), nil otherwise.
    public var index: Int?

    public init(_ kind: String, index: Int? = nil) { self.kind = kind; self.index = index }
    public static let cpu = DeviceID("cpu")
    public static let disk = DeviceID("disk")

    /// Parses `cpu`, `disk`, `cuda:1`, or a bare integer (a GPU ordinal, as accelerate spells it).
    public init?(parsing s: String) {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = Int(t) { self.init("cuda", index: n); return }
        let parts = t.split(separator: ":", maxSplits: 1).map(String.init)
        guard let k = parts.first, !k.isEmpty, k.allSatisfy({ $0.isLetter }) else { return nil }
        if parts.count == 2 {
            guard let i = Int(parts[1]), i >= 0 else { return nil }
            self.init(k, index: i)
        } else {
            self.init(k)
        }
    }

    public var description: String { index.map { "\(kind):\($0)" } ?? kind }
    public static func < (a: DeviceID, b: DeviceID) -> Bool { a.description < b.description }
}

/// What memory is used for, in reports.
public enum MemoryKind: String, Sendable, Hashable, CaseIterable, Codable {
    case weights, kvCache = "kv_cache", activations, scratch
}

/// A snapshot of a device's memory use.
public struct MemoryReport: Sendable, CustomStringConvertible {
    public var device: DeviceID
    public var budget: Int?
    public var current: [MemoryKind: Int]
    public var peak: [MemoryKind: Int]
    /// Largest total in use at once (not the sum of per-kind peaks).
    public var peakTotal: Int
    public var currentTotal: Int { current.values.reduce(0, +) }

    public var description: String {
        var s = "\(device): \(ByteCount(currentTotal)) in use, peak \(ByteCount(peakTotal))"
        if let b = budget { s += " of \(ByteCount(b))" }
        for k in MemoryKind.allCases {
            s += "\n  \(k.rawValue): \(ByteCount(current[k] ?? 0)) (peak \(ByteCount(peak[k] ?? 0)))"
        }
        return s
    }
}

/// Accounts bytes per kind on one device: current, peak per kind, peak total; enforces a budget
/// before allocation (the error names the device, kind and sizes). Thread-safe.
public final class MemoryTracker: @unchecked Sendable {
    public let device: DeviceID
    public let budget: Int?
    private let lock = NSLock()
    private var current: [MemoryKind: Int] = [:]
    private var peak: [MemoryKind: Int] = [:]
    private var total = 0
    private var peakTotal = 0

    public init(device: DeviceID, budget: Int? = nil) { self.device = device; self.budget = budget }

    /// Records `bytes` of `kind` as in use; throws `outOfMemory` (recording nothing) past the budget.
    public func reserve(_ bytes: Int, kind: MemoryKind) throws {
        lock.lock(); defer { lock.unlock() }
        if let b = budget, total + bytes > b {
            throw OmniError.outOfMemory(device: device.description, kind: kind.rawValue, requested: bytes,
                                        inUse: total, budget: b)
        }
        current[kind, default: 0] += bytes
        total += bytes
        peak[kind] = max(peak[kind] ?? 0, current[kind]!)
        peakTotal = max(peakTotal, total)
    }

    /// Records `bytes` of `kind` as freed.
    public func release(_ bytes: Int, kind: MemoryKind) {
        lock.lock(); defer { lock.unlock() }
        current[kind, default: 0] -= bytes
        total -= bytes
    }

    /// Resets peaks to the current values (`torch.cuda.reset_peak_memory_stats`).
    public func resetPeaks() {
        lock.lock(); defer { lock.unlock() }
        peak = current
        peakTotal = total
    }

    /// Current and peak use.
    public func report() -> MemoryReport {
        lock.lock(); defer { lock.unlock() }
        return MemoryReport(device: device, budget: budget, current: current, peak: peak, peakTotal: peakTotal)
    }
}

/// A place where tensors live and kernels run. CPU today; a CUDA device later conforms without model changes.
public protocol Device: AnyObject, Sendable {
    /// Identity.
    var id: DeviceID { get }
    /// Accounting for everything allocated here.
    var memory: MemoryTracker { get }
    /// Allocates `bytes` of `kind`, accounted against the budget; released when the storage is freed.
    func allocate(_ bytes: Int, kind: MemoryKind) throws -> Storage
}
