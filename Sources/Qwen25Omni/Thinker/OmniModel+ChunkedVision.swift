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
        let width = pixels.shape[1], p = try pixels.contiguous().floats()
        var rows: [Float] = [], outWidth = 0, patch = 0
        for grid in grids {
            var t = 0
            while t < grid.t {
                let k = min(slicesPerRun, grid.t - t)
                let piece = VisionEncoder.Grid(t: k, h: grid.h, w: grid.w)
                let n = piece.patches
                let slice = Tensor(Array(p[(patch * width)..<((patch + n) * width)]), shape: [n, width])
                let inputs = try vision.inputs(pixels: slice, grids: [piece])
                let out = try runTower(vision.graph(grids: [piece]), inputs: inputs, output: VisionEncoder.embeds,
                                       what: "vision tower")
                outWidth = out.shape[out.shape.rank - 1]
                rows += try out.floats()
                patch += n
                t += k
            }
        }
        return Tensor(rows, shape: [rows.count / max(outWidth, 1), outWidth])
    }
}
