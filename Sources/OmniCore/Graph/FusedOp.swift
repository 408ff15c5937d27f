/// A model-specific fused op (BigVGAN's anti-aliased SnakeBeta) that carries its own kernel for each device
/// kind, so it lives with the model that needs it instead of in every executor's switch. A backend runs a fused
/// node with the kernel the op hands it for its device kind; `supports` is false where the op has none.
///
/// The op value is part of the graph (hashed into its structure): two instances that compute differently must
/// not be equal.
public protocol FusedOp: Sendable, Hashable, CustomStringConvertible {
    /// The kernel for devices of `kind` (`cpu`, later `cuda`), or nil.
    func kernel(for deviceKind: String) -> FusedKernel?
}

/// One fused-op kernel. It gets the node's inputs as f32 tensors in input order (weights already widened to f32
/// by the executor), the output buffer, and the threads it may use; all on the device it was asked for, so a CPU
/// kernel may read them through host views.
public struct FusedKernel: Sendable {
    public let run: @Sendable (_ inputs: [Tensor], _ out: Tensor, _ threads: Int) throws -> Void
    public init(_ run: @escaping @Sendable (_ inputs: [Tensor], _ out: Tensor, _ threads: Int) throws -> Void) { self.run = run }
}

/// A type-erased `FusedOp`, so `Op` stays `Hashable`. Unchecked: `key` wraps the same Sendable op value.
public struct AnyFusedOp: @unchecked Sendable, Hashable, CustomStringConvertible {
    public let op: any FusedOp
    private let key: AnyHashable
    public init(_ op: some FusedOp) { self.op = op; self.key = AnyHashable(op) }
    public static func == (a: AnyFusedOp, b: AnyFusedOp) -> Bool { a.key == b.key }
    public func hash(into h: inout Hasher) { h.combine(key) }
    public var description: String { op.description }
}
