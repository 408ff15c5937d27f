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
}

extension WeightProvider {
    public func prefetch(_ keys: [String]) {}
    public func release(_ keys: [String]) {}
}

/// Weights held in a dictionary: the in-memory double for tests and small synthetic models.
public final class InMemoryWeights: WeightProvider, @unchecked Sendable {
    public var tensors: [String: Tensor]
    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }
    public func tensor(_ key: String) throws -> Tensor {
        guard let t = tensors[key] else { throw OmniError.missingTensor(key: key, file: nil) }
        return t
    }
}
