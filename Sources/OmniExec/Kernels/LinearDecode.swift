import CKernels
import OmniCore

extension Kernels {
    /// One product of a decode group: weight W [out, in] (f32, f16, bf16, Q8_0 or Q4_0 in either layout, Q5_0, Q4_K
    /// or Q6_K), optional f32 bias [out],
    /// result y [T, out] (f32, contiguous).
    struct DecodeProduct {
        let weight: Tensor
        let bias: Tensor?
        let out: Tensor
    }

    /// The tasks of a region over `products`: (product, first row, end row), every product cut at the same row count
    /// (`decodeChunkRows` of their rows together).
    static func decodeTasks(_ products: [DecodeProduct], threads: Int) -> [(p: Int, r0: Int, r1: Int)] {
        let chunk = decodeChunkRows(totalRows: products.reduce(0) { $0 + $1.weight.shape[0] }, threads: threads)
        var tasks: [(p: Int, r0: Int, r1: Int)] = []
        for (p, product) in products.enumerated() {
            let n = product.weight.shape[0]
            for r0 in stride(from: 0, to: n, by: chunk) { tasks.append((p, r0, min(n, r0 + chunk))) }
        }
        return tasks
    }

    /// Rows of a decode product one task takes at most: the region is cut into about `threads × 8` tasks over all
    /// its products (a descheduled or slowed thread then does less of the work instead of the whole region waiting
    /// for its fixed share), rounded to 16 rows.
    static func decodeChunkRows(totalRows: Int, threads: Int) -> Int {
        let parts = max(1, min(threads * 8, (totalRows + 15) / 16))
        return ((totalRows + parts - 1) / parts + 15) / 16 * 16
    }

    /// y_p[T, out_p] = x[T, in] · W_pᵀ (+ b_p) for every product p, T ≤ 2, all weights of one dtype: the decode
    /// matrix-vector path. x is prepared once per row for all products (interleaved for bf16, quantized to Q8_0
    /// for Q8_0 and Q4_0 weights, as llama.cpp quantizes activations once per product group), then every product's
    /// row blocks go to the pool as one parallel region, each task adding its rows' bias. So the sibling linears
    /// of a decoder layer (q, k and v; gate and up) cost one fork/join and one preparation of x instead of three
    /// (or two). Weights are read once, in their stored dtype, one contiguous run of rows per task.
    ///
    /// Scratch: slot 0 holds the prepared row of x (the size `RunMemory` counts for one decode linear).
    static func linearDecode(x: Tensor, products: [DecodeProduct], threads: Int,
                             scratch: (Int, Int) throws -> UnsafeMutablePointer<Float>) throws {
        guard let first = products.first else { return }
        let t = x.shape[0], inF = x.shape[-1], dtype = first.weight.dtype, layout = first.weight.layout
        precondition(products.allSatisfy { $0.weight.dtype == dtype && $0.weight.layout == layout && $0.weight.shape[1] == inF },
                     "a decode group needs one weight dtype and layout and one input width")
        guard [.f32, .f16, .bf16, .q8_0, .q4_0, .q5_0, .q4_k, .q6_k].contains(dtype) else {
            throw OmniError.dtypeMismatch(key: "linear weight", expected: "f32/f16/bf16/q8_0/q4_0/q5_0/q4_k/q6_k", actual: dtype)
        }
        let xp = UnsafePointer(x.rawPointer.assumingMemoryBound(to: Float.self))
        let tasks = decodeTasks(products, threads: threads)
        let weights = products.map(\.weight.rawPointer)
        let outs = products.map(\.out.floatPointer)
        let biases = products.map { $0.bias?.floatPointer }
        let prepared: UnsafeMutableRawPointer? = switch dtype {
        case .bf16: UnsafeMutableRawPointer(try scratch(0, inF))
        case .q8_0: UnsafeMutableRawPointer(try scratch(0, (inF / 32 * 34 + 3) / 4))
        case .q4_0: UnsafeMutableRawPointer(try scratch(0, (omni_q4_0_prepared_bytes(inF) + 3) / 4))
        case .q5_0: UnsafeMutableRawPointer(try scratch(0, (omni_q5_0_prepared_bytes(inF) + 3) / 4))
        case .q4_k, .q6_k: UnsafeMutableRawPointer(try scratch(0, (omni_q8_k_bytes(inF) + 3) / 4))
        default: nil
        }
        for row in 0..<t {
            let xr = xp + row * inF
            switch dtype {
            case .bf16: omni_bf16_prepare_x(xr, prepared!.assumingMemoryBound(to: Float.self), inF)
            case .q8_0: omni_quantize_q8_0(xr, prepared!.assumingMemoryBound(to: UInt8.self), inF)
            case .q4_0: omni_q4_0_prepare_x(xr, prepared!.assumingMemoryBound(to: UInt8.self), inF)
            case .q5_0: omni_q5_0_prepare_x(xr, prepared!.assumingMemoryBound(to: UInt8.self), inF)
            case .q4_k, .q6_k: omni_quantize_q8_k(xr, prepared!.assumingMemoryBound(to: UInt8.self), inF)
            default: break
            }
            try parallelFor(tasks.count) { j in
                let (p, r0, r1) = tasks[j]
                let wp = weights[p], outF = products[p].weight.shape[0], yr = outs[p] + row * outF
                switch dtype {
                case .f32: omni_matvec_f32(wp.assumingMemoryBound(to: Float.self), xr, yr, inF, r0, r1)
                case .bf16:
                    omni_matvec_bf16_prepared(wp.assumingMemoryBound(to: UInt16.self), prepared!.assumingMemoryBound(to: Float.self),
                                              xr, yr, inF, r0, r1)
                case .f16: omni_matvec_f16(wp.assumingMemoryBound(to: UInt16.self), xr, yr, inF, r0, r1)
                case .q8_0 where layout == .q8_0Rows8:
                    omni_matvec_q8_0_r8(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                        yr, inF, r0, r1)
                case .q8_0:
                    omni_matvec_q8_0(wp.assumingMemoryBound(to: UInt8.self), xr, prepared!.assumingMemoryBound(to: UInt8.self),
                                     yr, inF, r0, r1)
                case .q5_0:
                    omni_matvec_q5_0(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                     yr, inF, r0, r1)
                case .q4_k:
                    omni_matvec_q4_k(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                     yr, inF, r0, r1)
                case .q6_k:
                    omni_matvec_q6_k(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                     yr, inF, r0, r1)
                case .q4_0 where layout == .q4_0Rows8:
                    // The prepared x starts with its Q8_0 blocks, all the interleaved kernel reads.
                    omni_matvec_q4_0_r8(wp.assumingMemoryBound(to: UInt8.self), prepared!.assumingMemoryBound(to: UInt8.self),
                                        yr, inF, r0, r1)
                default:
                    omni_matvec_q4_0(wp.assumingMemoryBound(to: UInt8.self), xr, prepared!.assumingMemoryBound(to: UInt8.self),
                                     yr, inF, r0, r1)
                }
                if let b = biases[p] { for o in r0..<r1 { yr[o] += b[o] } }
            }
        }
    }
}
