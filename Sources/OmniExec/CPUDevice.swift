import OmniCore

/// The CPU: allocations are 64-byte aligned and accounted by kind against an optional budget.
public final class CPUDevice: Device, @unchecked Sendable {
    public let id: DeviceID
    public let memory: MemoryTracker

    /// A CPU device with an optional byte budget (`--max-memory cpu=…`).
    public init(budget: Int? = nil) {
        self.id = .cpu
        self.memory = MemoryTracker(device: .cpu, budget: budget)
    }

    public func allocate(_ bytes: Int, kind: MemoryKind) throws -> Storage {
        try memory.reserve(bytes, kind: kind)
        let tracker = memory
        return Storage(zeroedByteCount: bytes, onFree: { tracker.release(bytes, kind: kind) })
    }
}
