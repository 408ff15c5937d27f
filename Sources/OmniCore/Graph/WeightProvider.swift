import Foundation
/// Supplies checkpoint tensors to the executor, already in the dtype they will be computed in.
///
/// The loader implements it over a `WeightSource` with a dtype policy, converting on first use (never by
/// copying the whole checkpoint up front), and, for the disk tier, paging tensors in and out.
public protocol WeightProvider: AnyObject, Sendable {
    /// The tensor for `key`, with its stored shape. Throws `missingTensor` naming the key.
    func tensor(_ key: String) throws -> Tensor
    /// Hint: these keys run soon (prefetch from disk).
    func prefetch(_ keys: [String])
    /// Hint: these keys are done for this step (their pages may be dropped).
    func release(_ keys: [String])
    /// The tensor for `key` in a kernel's `layout`: `prepare(stored, destination)` writes the stored tensor's
    /// values in that layout into `destination` (as many bytes as the stored tensor) once. A provider that keeps
    /// tensors for a model keeps this copy *instead of* the stored one (memory holds one copy, accounted as before)
    /// and returns it from `tensor(key)` too from then on (`ModelWeights`; the test double `InMemoryWeights` keeps
    /// both and returns the stored one from `tensor(key)`). Callers check `Tensor.layout`. Returns nil when it does
    /// not keep `key` (the disk tier) or does not support layouts (the default): the caller then uses `tensor(key)`.
    func tensor(_ key: String, layout: TensorLayout,
                prepare: (Tensor, UnsafeMutableRawPointer) throws -> Void) throws -> Tensor?
}

extension WeightProvider {
    public func prefetch(_ keys: [String]) {}
    public func release(_ keys: [String]) {}
    public func tensor(_ key: String, layout: TensorLayout,
                       prepare: (Tensor, UnsafeMutableRawPointer) throws -> Void) throws -> Tensor? { nil }
}

/// Weights held in a dictionary: the in-memory double for tests and small synthetic models.
public final class InMemoryWeights: WeightProvider, @unchecked Sendable {
    public var tensors: [String: Tensor] { didSet { lock.withLock { laidOut = [:] } } }
    /// Tensors in a kernel's layout, by key (kept beside `tensors`, which stay as given).
    private var laidOut: [String: Tensor] = [:]
    private let lock = NSLock()
    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }
    public func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw OmniError.missingTensor(key: key, file: nil) }
        return t
    }
    /// Prepares once and keeps the copy beside the original: unlike a loader's provider, `tensor(key)` keeps
    /// returning the tensor as given, so tests can share one provider between a CPU executor, which asks for its
    /// layout, and any other reader (a CUDA executor, the test itself).
    public func tensor(_ key: String, layout: TensorLayout,
                       prepare: (Tensor, UnsafeMutableRawPointer) throws -> Void) throws -> Tensor? {
        lock.lock(); defer { lock.unlock() }
        if let t = laidOut[key], t.layout == layout { return t }
        guard let t = tensors[key]?.contiguous(), t.layout == .standard, layout.admits(dtype: t.dtype, shape: t.shape) else {
            return nil
        }
        let out = Tensor(storage: Storage(zeroedByteCount: max(t.byteCount, 1)), shape: t.shape, dtype: t.dtype, layout: layout)
        try withExtendedLifetime(t) { try prepare(t, out.mutableRawPointer) }
        laidOut[key] = out
        return out
    }
}
