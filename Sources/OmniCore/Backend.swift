/// A device's compute side: it owns buffers through its `Device` and runs the ops its kernel table holds. The CPU
/// executor is one; a CUDA backend is another, with the same graph, plans (`ExecutionPlan`) and model code.
public protocol Backend: AnyObject, Sendable {
    /// Where its buffers live.
    var device: any Device { get }
    /// Whether its kernel table runs `op` with these input dtypes (in `op.inputs` order). Placement asks before
    /// it assigns a node, so an unsupported node can fall back to another device.
    func supports(_ op: Op, dtypes: [DType]) -> Bool
    /// A contiguous host copy of `tensor` (which lives on this backend's device): the only way its bytes reach
    /// the host.
    func read(_ tensor: Tensor) throws -> Tensor
}
