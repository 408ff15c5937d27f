import OmniCore

/// The audio tower in groups of whole native windows (issue 14).
extension OmniModel {
    /// The audio tower's rows, running `windowsPerRun` native windows of one audio at a time and concatenating
    /// the rows. Equal to the one-run graph: the convolutions, the sinusoid positions and the attention segments
    /// are per window already, ln_post and the projection are per row, and the pair pooling never crosses a
    /// group because a group's vector count is kept even (a full window gives n_window vectors; with an odd
    /// n_window the group is rounded up to an even number of windows). A last group too short for a token gives
    /// one vector, which the one-run pooling drops as well, so it is skipped.
    func encodeAudio(_ audio: AudioEncoder, lengths: [Int], inputs: [String: Tensor], windowsPerRun: Int) throws -> Tensor {
        guard windowsPerRun >= 1 else {
            throw OmniError.invalidArgument(name: "audioWindowsPerRun", expected: "1...\(Int(Int32.max)) windows",
                                            actual: "\(windowsPerRun)")
        }
        guard let packed = inputs[AudioEncoder.features], let table = inputs[AudioEncoder.positions] else {
            throw OmniError.unsupported(what: "audio tower", reasons: ["inputs lack \(AudioEncoder.features)"])
        }
        let windows = audio.config.nWindow % 2 == 0 || windowsPerRun % 2 == 0 ? windowsPerRun : windowsPerRun + 1
        let group = min(windows, Int(Int32.max) / audio.chunkFrames) * audio.chunkFrames
        let bins = audio.config.melBins, total = lengths.reduce(0, +)
        let f = try packed.floats()
        var rows: [Float] = [], width = 0, start = 0
        for len in lengths {
            var offset = 0
            while offset < len {
                let frames = min(group, len - offset)
                defer { offset += frames }
                guard AudioEncoder.tokens(frames: frames) >= 1 else { continue }
                var cols = [Float](repeating: 0, count: bins * frames)
                for b in 0..<bins {
                    let src = b * total + start + offset
                    cols.replaceSubrange((b * frames)..<((b + 1) * frames), with: f[src..<(src + frames)])
                }
                let groupInputs = [AudioEncoder.features: Tensor(cols, shape: [bins, frames]), AudioEncoder.positions: table]
                let out = try runTower(audio.graph(lengths: [frames]), inputs: groupInputs, output: AudioEncoder.embeds,
                                       what: "audio tower")
                width = out.shape[out.shape.rank - 1]
                rows += try out.floats()
            }
            start += len
        }
        return Tensor(rows, shape: [rows.count / max(width, 1), width])
    }
}
