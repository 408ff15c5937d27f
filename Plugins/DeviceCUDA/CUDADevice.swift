import OmniCore

/// A GPU as a `Device`: plain `cuMemAlloc` (never managed memory), accounted per kind in its `MemoryTracker`
/// (what `torch.cuda.memory_allocated` / `max_memory_allocated` answer), freed when the last tensor on it goes.
public final class CUDADevice: Device, @unchecked Sendable {
    public let id: DeviceID
    public let memory: MemoryTracker
    let context: CUDAContext

    init(context: CUDAContext, budget: Int?) {
        self.context = context
        self.id = context.info.id
        self.memory = MemoryTracker(device: context.info.id, budget: budget)
    }

    /// Name, architecture and total memory.
    public var info: ComputeDeviceInfo { context.info }

    public func allocate(_ bytes: Int, kind: MemoryKind) throws -> Storage {
        try memory.reserve(bytes, kind: kind)
        let address: UInt64
        do { address = try context.allocate(bytes) } catch {
            memory.release(bytes, kind: kind)
            throw error
        }
        let tracker = memory, ctx = context
        return Storage(device: id, address: address, byteCount: bytes, onFree: {
            ctx.free(address)
            tracker.release(bytes, kind: kind)
        })
    }
}

extension Storage {
    /// The device address of a GPU allocation (precondition: device memory).
    var deviceAddress: UInt64 {
        guard case let .device(a) = kind else { preconditionFailure("storage on \(device) is host memory") }
        return a
    }
}

extension Tensor {
    /// The device address of element 0 (precondition: device memory).
    var address: UInt64 { storage.deviceAddress + UInt64(byteOffset) }
}
