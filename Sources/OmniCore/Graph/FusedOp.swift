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
///
/// A kernel for a device that compiles source at run time (CUDA through NVRTC) is `FusedKernel(source:)` instead:
/// the backend compiles and launches it; `run` then only says so.
public struct FusedKernel: Sendable {
    public let run: @Sendable (_ inputs: [Tensor], _ out: Tensor, _ threads: Int) throws -> Void
    /// The kernel as device source, for backends that compile it (nil for host kernels).
    public let source: DeviceKernelSource?
    public init(_ run: @escaping @Sendable (_ inputs: [Tensor], _ out: Tensor, _ threads: Int) throws -> Void) {
        self.run = run
        self.source = nil
    }
    /// A device-source kernel.
    public init(source: DeviceKernelSource) {
        self.source = source
        self.run = { _, _, _ in
            throw OmniError.unsupported(what: "kernel \(source.entry)", reasons: ["device source: its backend compiles and launches it"])
        }
    }
}

/// A fused op's kernel as device source: CUDA C (no #include) with
/// `extern "C" __global__ void <entry>(const float *in0, …, float *out, int s0, …)`, launched with one thread per
/// item of a grid-stride loop over `items` (1-D blocks of 256).
public struct DeviceKernelSource: Sendable {
    /// The source text (compiled on its own; cached by its hash).
    public let text: String
    /// The `extern "C"` entry point.
    public let entry: String
    /// Loop items for the launch, from the input shapes and the output shape.
    public let items: @Sendable (_ inputs: [Shape], _ out: Shape) -> Int
    /// int arguments after the pointers.
    public let scalars: @Sendable (_ inputs: [Shape], _ out: Shape) -> [Int32]

    public init(text: String, entry: String, items: @escaping @Sendable ([Shape], Shape) -> Int,
                scalars: @escaping @Sendable ([Shape], Shape) -> [Int32]) {
        self.text = text
        self.entry = entry
        self.items = items
        self.scalars = scalars
    }
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
