import CBLAS
import CKernels
import Dispatch
import OmniCore

/// `flash_attention_2` on CPU: tiles queries (64 rows) and keys (128 columns) and keeps an online softmax
/// (running max m, running sum l, f32 accumulator) per query row, so it never holds more than one
/// [64, 128] tile of scores per worker: extra memory is constant in sequence length.
/// Parallel over (head, query block). Same mask semantics as `eager` (causal with key offset, segments,
/// sliding window, explicit additive), GQA by indexing the shared KV head.
public struct FlashAttention2: AttentionBackend {
    /// Query rows per block.
    public let queryBlock: Int
    /// Keys per tile.
    public let keyBlock: Int

    public init(queryBlock: Int = 64, keyBlock: Int = 128) {
        self.queryBlock = queryBlock
        self.keyBlock = keyBlock
    }

    public var name: String { "flash_attention_2" }

    public var capabilities: AttentionCapabilities {
        AttentionCapabilities(dtypes: [.f32], maxHeadDim: 1024, maskKinds: Set(AttentionMaskKind.allCases),
                              groupedQuery: true)
    }

    /// Per worker: one score tile, one accumulator block, and the running max and sum.
    public func scratchBytes(for shape: AttentionShape, threads: Int) -> Int {
        let bq = min(queryBlock, shape.queryLength)
        return max(1, threads) * (bq * keyBlock + bq * shape.headDim + 2 * bq) * 4
    }

    public func run(_ c: AttentionCall) throws {
        let s = c.shape
        let qLen = s.queryLength, kvLen = s.keyLength, hd = s.headDim
        let group = s.heads / s.kvHeads
        let bq = min(queryBlock, max(qLen, 1)), bk = keyBlock
        let qBlocks = (qLen + bq - 1) / bq
        let items = s.heads * qBlocks
        let workers = max(1, min(c.threads, items))
        let per = bq * bk + bq * hd + 2 * bq
        let call = try c.cpuView()
        let scratch = try call.scratch(floats: workers * per)
        let explicit = call.explicit
        let mask = c.mask
        c.forEach(workers) { w in
            let tile = scratch + w * per
            let acc = tile + bq * bk
            let mRun = acc + bq * hd
            let lRun = mRun + bq
            var item = w
            while item < items {
                let h = item / qBlocks, i0 = (item % qBlocks) * bq
                let rows = min(bq, qLen - i0)
                let kvh = h / group
                let q = call.q + i0 * call.qRowStride + h * hd
                var lo = Int.max, hi = 0
                var ranges = [Range<Int>]()
                ranges.reserveCapacity(rows)
                for r in 0..<rows {
                    let kr = mask.keyRange(query: i0 + r, keyLength: kvLen)
                    ranges.append(kr)
                    if !kr.isEmpty { lo = min(lo, kr.lowerBound); hi = max(hi, kr.upperBound) }
                }
                for r in 0..<rows { mRun[r] = -Float.infinity; lRun[r] = 0 }
                for x in 0..<(rows * hd) { acc[x] = 0 }
                var t0 = lo == Int.max ? hi : lo
                while t0 < hi {
                    let cols = min(bk, hi - t0)
                    let kt = call.k + t0 * call.kRowStride + kvh * hd
                    if rows == 1 {
                        // One query row (a decode step): dot products; an SGEMM call costs more than its work here.
                        omni_dot_rows(q, kt, call.kRowStride, cols, hd, s.scale, tile)
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(cols), Int32(hd), s.scale,
                                    q, Int32(call.qRowStride), kt, Int32(call.kRowStride), 0, tile, Int32(cols))
                    }
                    for r in 0..<rows {
                        let row = tile + r * cols
                        let a = max(ranges[r].lowerBound, t0) - t0
                        let b = min(ranges[r].upperBound, t0 + cols) - t0
                        if a >= b {
                            for j in 0..<cols { row[j] = 0 }
                            continue
                        }
                        if let e = explicit {
                            let er = e + (i0 + r) * kvLen + t0
                            for j in a..<b { row[j] += er[j] }
                        }
                        let tileMax = omni_max(row + a, b - a)
                        let mNew = max(mRun[r], tileMax)
                        if mNew == -Float.infinity {
                            for j in 0..<cols { row[j] = 0 }
                            continue
                        }
                        let alpha: Float = mRun[r] == -Float.infinity ? 0 : omni_exp_sub_sum_scalar(mRun[r] - mNew)
                        let sum = omni_exp_sub_sum(row + a, b - a, mNew)
                        for j in 0..<a { row[j] = 0 }
                        for j in b..<cols { row[j] = 0 }
                        lRun[r] = lRun[r] * alpha + sum
                        mRun[r] = mNew
                        if alpha != 1 { omni_scale(acc + r * hd, alpha, hd) }
                    }
                    let vt = call.v + t0 * call.vRowStride + kvh * hd
                    if rows == 1 {
                        omni_axpy_rows(acc, vt, call.vRowStride, tile, cols, hd)
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(hd), Int32(cols), 1,
                                    tile, Int32(cols), vt, Int32(call.vRowStride), 1, acc, Int32(hd))
                    }
                    t0 += cols
                }
                for r in 0..<rows {
                    let out = call.out + (i0 + r) * call.outRowStride + h * hd
                    let inv = lRun[r] > 0 ? 1 / lRun[r] : 0
                    for d in 0..<hd { out[d] = acc[r * hd + d] * inv }
                }
                item += workers
            }
        }
        withExtendedLifetime(c) {}
    }
}

/// exp(x) with the same kernel the tiles use, so rescaling matches the tile exponentials.
@inline(__always) func omni_exp_sub_sum_scalar(_ x: Float) -> Float {
    var v = x
    return omni_exp_sub_sum(&v, 1, 0)
}
