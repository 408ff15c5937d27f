import Foundation
import OmniCore

/// Checkpoint tensors for the executor, in the dtype the policy asks for.
///
/// Tensors whose dtype is already right are zero-copy views of the mapped files. Others are converted with the
/// registry's converters the first time they are used (never by copying the whole checkpoint up front), and the
/// converted copy is accounted as `weights` on the device. Keys in `diskKeys` form the disk tier: they are never
/// kept converted, their pages are prefetched when the executor announces them and released after each step,
/// so resident weight memory stays inside the CPU budget.
public final class ModelWeights: WeightProvider, @unchecked Sendable {
    public let source: any WeightSource
    public let registry: PluginRegistry
    public let policy: DTypePolicy
    public let device: any Device
    /// Keys placed on the disk tier.
    public let diskKeys: Set<String>
    private let lock = NSLock()
    /// Tensors ready to use (views of the mapped files, or converted copies), except disk-tier ones.
    private var converted: [String: Tensor] = [:]
    /// Keys of `converted` that are the source's own views (accounted by a reservation, not an allocation).
    private var keptViews: Set<String> = []
    /// Where prefetch touches store their checksum (never read).
    nonisolated(unsafe) static var sink: UInt8 = 0
    private let prefetchQueue = DispatchQueue(label: "swift-omni.disk-prefetch", qos: .userInitiated)

    public init(source: any WeightSource, registry: PluginRegistry, policy: DTypePolicy = .auto,
                device: any Device, diskKeys: Set<String> = []) {
        self.source = source
        self.registry = registry
        self.policy = policy
        self.device = device
        self.diskKeys = diskKeys
    }

    public func tensor(_ key: String) throws -> Tensor {
        lock.lock(); defer { lock.unlock() }
        if let t = converted[key] { return t }
        let raw = try source.tensor(key)
        let target = policy.dtype(for: key, stored: raw.dtype, shape: raw.shape)
        let onDisk = diskKeys.contains(key)
        if target == raw.dtype {
            if !onDisk {
                // Kept and accounted once; later steps get the cached view instead of a new one per use.
                try device.memory.reserve(raw.byteCount, kind: .weights)
                converted[key] = raw
                keptViews.insert(key)
            }
            return raw
        }
        guard let bytes = target.byteCount(elements: raw.elementCount) else {
            throw OmniError.shapeMismatch(key: key, expected: Shape([raw.elementCount / target.blockElements * target.blockElements]),
                                          actual: raw.shape)
        }
        let storage = onDisk ? Storage(zeroedByteCount: bytes) : try device.allocate(bytes, kind: .weights)
        let out = Tensor(storage: storage, shape: raw.shape, dtype: target)
        try convert(raw.contiguous(), to: out)
        source.release(key)   // the stored bytes are no longer needed: drop their pages
        if !onDisk { converted[key] = out }
        return out
    }

    /// Keeps `key` in a kernel's `layout` instead of its current form (see `WeightProvider`): a new copy accounted as
    /// weights, written by `prepare`; the old one is dropped (a mapped view's reservation released and its pages
    /// given back; a converted copy freed once no run holds it). Never in place: a run on another executor may be
    /// reading the old bytes. Disk-tier keys are never kept, so they are not laid out (nil).
    public func tensor(_ key: String, layout: TensorLayout,
                       prepare: (Tensor, UnsafeMutableRawPointer) throws -> Void) throws -> Tensor? {
        guard !diskKeys.contains(key) else { return nil }
        _ = try tensor(key)   // kept (viewed or converted) first
        lock.lock(); defer { lock.unlock() }
        if let t = converted[key], t.layout == layout { return t }
        guard let old = converted[key], old.layout == .standard, layout.admits(dtype: old.dtype, shape: old.shape) else {
            return nil
        }
        let storage = try device.allocate(old.byteCount, kind: .weights)
        let out = Tensor(storage: storage, shape: old.shape, dtype: old.dtype, layout: layout)
        try prepare(old, out.mutableRawPointer)
        converted[key] = out
        if keptViews.remove(key) != nil {
            device.memory.release(old.byteCount, kind: .weights)   // reserved when the view was first kept
            source.release(key)
        }
        return out
    }

    /// Pages in the stored bytes of `keys` that are used as stored (not on the disk tier), accounting them as
    /// weights now, so resident memory after loading is what the plan predicts, as after transformers'
    /// `from_pretrained`. Tensors that need a dtype conversion are left to their first use. Returns bytes paged.
    @discardableResult
    public func preload(_ keys: [String], isCancelled: () -> Bool = { false },
                        progress: (Int) -> Void = { _ in }) throws -> Int {
        var paged = 0
        for key in keys where !diskKeys.contains(key) {
            if isCancelled() { throw OmniError.cancelled }
            guard let info = source.info(key),
                  policy.dtype(for: key, stored: info.dtype, shape: info.shape) == info.dtype else { continue }
            let t = try tensor(key)
            var sum: UInt8 = 0
            var off = 0
            while off < t.byteCount { sum &+= t.rawPointer.load(fromByteOffset: off, as: UInt8.self); off += 4096 }
            ModelWeights.sink = sum
            paged += t.byteCount
            progress(paged)
        }
        return paged
    }

    private func convert(_ src: Tensor, to dst: Tensor) throws {
        if let c = try? registry.converter(from: src.dtype, to: dst.dtype) {
            try c.convert(src.rawPointer, from: src.dtype, to: dst.mutableRawPointer, dst.dtype, count: src.elementCount)
            return
        }
        // Two steps through f32 (e.g. bf16 → q8_0).
        let mid = Tensor(zeros: src.shape, dtype: .f32)
        try registry.converter(from: src.dtype, to: .f32)
            .convert(src.rawPointer, from: src.dtype, to: mid.mutableRawPointer, .f32, count: src.elementCount)
        try withExtendedLifetime(mid) {
            try registry.converter(from: .f32, to: dst.dtype)
                .convert(mid.rawPointer, from: .f32, to: dst.mutableRawPointer, dst.dtype, count: src.elementCount)
        }
    }

    /// Disk tier: asks the kernel to read ahead, and touches the pages on a background queue so they are
    /// resident before the executor reaches the layer.
    public func prefetch(_ keys: [String]) {
        let disk = keys.filter { diskKeys.contains($0) }
        guard !disk.isEmpty else { return }
        for k in disk { source.prefetch(k) }
        let source = self.source
        prefetchQueue.async {
            for k in disk {
                guard let t = try? source.tensor(k), t.byteCount > 0 else { continue }
                var sum: UInt8 = 0
                var off = 0
                while off < t.byteCount { sum &+= t.rawPointer.load(fromByteOffset: off, as: UInt8.self); off += 4096 }
                ModelWeights.sink = sum   // keeps the reads from being optimized away
            }
        }
    }

    public func release(_ keys: [String]) {
        for k in keys where diskKeys.contains(k) { source.release(k) }
    }
}
