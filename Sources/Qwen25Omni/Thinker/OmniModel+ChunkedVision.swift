import OmniCore

/// The vision tower in groups of temporal slices (issue 14).
extension OmniModel {
    /// The vision tower's rows, running at most `slicesPerRun` t-slices of one grid at a time and concatenating the
    /// rows. Equal to the one-run graph: patch rows are t-major, the rotary (row, column) positions and the window
    /// order repeat per t-slice, the window-attention blocks attend within a window of one slice and the
    /// full-attention blocks within one slice (the reference's cu_seqlens: h·w repeated t times), and the merger
    /// works per 2×2 block of one slice. So a grid (t, h, w) runs as grids (k, h, w) with k ≤ `slicesPerRun`.
    func encodeVision(_ vision: VisionEncoder, pixels: Tensor, grids: [VisionEncoder.Grid], slicesPerRun: Int) throws -> Tensor {
        guard slicesPerRun >= 1 else {
            throw OmniError.invalidArgument(name: "visionSlicesPerRun", expected: "1...\(Int(Int32.max)) t-slices",
                                            actual: "\(slicesPerRun)")
        }
        // Each run reads a row view of the pixels and its rows are copied once into the result: no copy of the
        // whole input and no growing array (fresh host memory costs more than the tower's kernels on a GPU).
        let all = pixels.contiguous()
        let width = vision.config.outHiddenSize, total = grids.reduce(0) { $0 + vision.tokens($1) }
        let result = Tensor(zeros: [total, width])
        var row = 0, patch = 0
        for grid in grids {
            var t = 0
            while t < grid.t {
                let k = min(slicesPerRun, grid.t - t)
                let piece = VisionEncoder.Grid(t: k, h: grid.h, w: grid.w)
                let n = piece.patches
                let inputs = try vision.inputs(pixels: all.slice(patch..<(patch + n)), grids: [piece])
                let out = try runTower(vision.graph(grids: [piece]), inputs: inputs, output: VisionEncoder.embeds,
                                       what: "vision tower").contiguous()
                let rows = vision.tokens(piece)
                guard out.shape == Shape([rows, width]), out.dtype == .f32, row + rows <= total else {
                    throw OmniError.unsupported(what: "vision tower", reasons: ["a run gave \(out.shape) \(out.dtype), expected [\(rows), \(width)] f32"])
                }
                (result.floatPointer + row * width).update(from: out.floatPointer, count: rows * width)
                row += rows
                patch += n
                t += k
            }
        }
        return result
    }
}
