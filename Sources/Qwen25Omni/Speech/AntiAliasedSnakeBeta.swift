import CKernels
import Foundation
import OmniCore

// BigVGAN's `Activation1d(SnakeBeta)` (transformers' Qwen2_5OmniToken2WavBigVGANModel): a fused op that carries its
// CPU kernel, so this model-specific DSP lives with the vocoder instead of in the executor.

/// Anti-aliased SnakeBeta on x [C, L] with per-channel log-space alpha, beta [C]: upsample ×2 (replicate pad,
/// 12-tap Kaiser-sinc transposed conv), y = x + sin²(x·e^α) / (e^β + 1e−9), downsample ×2 with the same filter.
public struct AntiAliasedSnakeBeta: FusedOp {
    public init() {}
    public var description: String { "bigvgan.anti_aliased_snake_beta" }

    /// The CPU kernel, and CUDA C for GPUs (compiled by the CUDA backend).
    public func kernel(for deviceKind: String) -> FusedKernel? {
        switch deviceKind {
        case "cpu": return FusedKernel { try Self.cpu($0, $1, $2) }
        case "cuda": return FusedKernel(source: Self.cuda)
        default: return nil
        }
    }

    /// One thread per output sample (c, m): the six upsampled samples each downsampling tap reads are computed on the
    /// fly (as `cpu` computes them), so nothing is staged. Arguments: x, alpha, beta, out, C, L.
    static let cuda: DeviceKernelSource = {
        let taps = filter.map { "__int_as_float(0x\(String($0.bitPattern, radix: 16)))" }.joined(separator: ", ")
        let text = """
        __device__ float omni_snake_up(const float *src, int n, int mm, float ea, float inv) {
            const float f[12] = {\(taps)};
            int full = mm + 15;
            float s = 0.f;
            for (int k = full & 1; k < 12; k += 2) {
                int i = (full - k) / 2;
                if (i >= 0 && i < n + 10) { int j = i - 5; j = j < 0 ? 0 : (j > n - 1 ? n - 1 : j); s += src[j] * f[k]; }
            }
            float u = 2.f * s, sn = sinf(u * ea);
            return u + sn * sn * inv;
        }
        extern "C" __global__ void omni_snake_beta_f32(const float *x, const float *alpha, const float *beta, float *y,
                                                       int C, int n) {
            const float f[12] = {\(taps)};
            for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)C * n;
                 i += (long long)blockDim.x * gridDim.x) {
                int ch = (int)(i / n), m = (int)(i % n);
                const float *src = x + (long long)ch * n;
                float ea = expf(alpha[ch]), inv = 1.f / (expf(beta[ch]) + 1e-9f);
                float s = 0.f;
                for (int k = 0; k < 12; k++) {
                    int mm = 2 * m + k - 5;
                    mm = mm < 0 ? 0 : (mm > 2 * n - 1 ? 2 * n - 1 : mm);
                    s += omni_snake_up(src, n, mm, ea, inv) * f[k];
                }
                y[i] = s;
            }
        }
        """
        return DeviceKernelSource(text: text, entry: "omni_snake_beta_f32", items: { _, out in out.elementCount },
                                  scalars: { inputs, _ in [Int32(inputs[0][0]), Int32(inputs[0][1])] })
    }()

    /// The 12-tap Kaiser-windowed sinc low-pass of BigVGAN's anti-aliasing (`kaiser_sinc_filter1d(0.25, 0.3, 12)`),
    /// computed in Float64 and rounded to Float32, normalized to sum 1.
    static let filter: [Float] = {
        let taps = 12, half = 6, cutoff = 0.25, halfWidth = 0.3
        let a = 2.285 * Double(half - 1) * Double.pi * (4 * halfWidth) + 7.95
        let beta = a > 50 ? 0.1102 * (a - 8.7) : (a >= 21 ? 0.5842 * pow(a - 21, 0.4) + 0.07886 * (a - 21) : 0)
        var f = (0..<taps).map { n -> Double in
            let window = Kaiser.window(2 * Double(n) / Double(taps - 1) - 1, beta: beta)
            let t = Double(n - half) + 0.5, x = 2 * cutoff * t
            return 2 * cutoff * window * (x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x))
        }
        let total = f.reduce(0, +)
        f = f.map { $0 / total }
        return f.map { Float($0) }
    }()

    /// inputs: x [C, L], alpha [C], beta [C] (f32, host memory); out [C, L]. One pass per 2048-sample tile of a
    /// channel (CKernels/snake.c: the upsampled signal stays in two tile buffers, AVX2 sin), channels × tiles on the
    /// kernel pool's `threads`.
    static func cpu(_ inputs: [Tensor], _ out: Tensor, _ threads: Int) throws {
        let x = inputs[0], alpha = inputs[1], beta = inputs[2]
        precondition(out.floatPointer != x.floatPointer, "bigvgan.anti_aliased_snake_beta: out must not alias x")
        filter.withUnsafeBufferPointer { f in
            omni_snake_beta(x.floatPointer, alpha.floatPointer, beta.floatPointer, f.baseAddress, out.floatPointer,
                            x.shape[0], x.shape[1], Int32(max(1, threads)))
        }
        withExtendedLifetime(inputs) {}
    }
}

extension Graph {
    /// Anti-aliased SnakeBeta of x [C, L] with alpha, beta [C] (log space) → same shape.
    public mutating func snakeBeta(_ x: ValueID, alpha: ValueID, beta: ValueID, name: String) -> ValueID {
        precondition(self[x].shape.rank == 2 && self[alpha].shape == [self[x].shape[0]] && self[beta].shape == [self[x].shape[0]],
                     "\(name): snake over \(self[x].shape) with alpha \(self[alpha].shape)")
        return fused(AntiAliasedSnakeBeta(), [x, alpha, beta], shape: self[x].shape, name: name)
    }
}
