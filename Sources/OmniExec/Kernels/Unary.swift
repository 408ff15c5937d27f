import Foundation
import OmniCore

extension Kernels {
    /// out[i] = f(x[i]) for a parameter-free elementwise f (contiguous f32).
    static func unary(_ x: Tensor, _ kind: UnaryKind, out: Tensor) {
        let n = x.elementCount, xp = x.floatPointer, yp = out.floatPointer
        switch kind {
        case .relu: for i in 0..<n { yp[i] = max(xp[i], 0) }
        case .sigmoid: for i in 0..<n { yp[i] = 1 / (1 + Foundation.exp(-xp[i])) }
        case .tanh: for i in 0..<n { yp[i] = Foundation.tanh(xp[i]) }
        case let .sqrt(floor): for i in 0..<n { yp[i] = max(xp[i], floor).squareRoot() }
        }
    }
}
