import OmniCore

/// `get_rope_index` (OMNI-SPEC §4.2): the [3, T] M-RoPE positions (temporal, height, width) of one unpadded
/// prompt with audio, image and video placeholders; text and audio advance all three rows together, vision
/// tokens take (t, h, w) over their merged grid, and audio inside a video is interleaved with it in 2 s chunks.
public struct RopeIndex: Sendable {
    /// Special ids, merge size and the audio/video time scale.
    public let config: ThinkerConfig

    /// The index for a thinker config.
    public init(config: ThinkerConfig) { self.config = config }

    /// Temporal position of each temporal patch of a video: ⌊k · secondsPerGrid · pps⌋ computed in fp32, as the
    /// reference does (shared by the positions and the processor's audio-in-video interleaving).
    static func videoTimes(_ t: Int, secondsPerGrid: Double, pps: Int) -> [Int64] {
        (0..<t).map { Int64(Float($0) * Float(secondsPerGrid) * Float(pps)) }
    }

    /// `get_chunked_index`: index ranges of `offsets` (values minus the segment start), a new chunk beginning at
    /// the first index whose offset reaches c · per for c = 1, 2, … (each index tested once).
    static func chunks(_ offsets: [Int64], per: Int64) -> [Range<Int>] {
        var out: [Range<Int>] = [], begin = 0, current: Int64 = 1
        for (i, v) in offsets.enumerated() where v >= current * per {
            out.append(begin..<i); begin = i; current += 1
        }
        out.append(begin..<offsets.count)
        return out
    }

    /// What fills the placeholders, in order of appearance.
    public struct Media: Sendable {
        /// (t, h, w) in patches per image.
        public var imageGrids: [VisionEncoder.Grid] = []
        /// (t, h, w) in patches per video.
        public var videoGrids: [VisionEncoder.Grid] = []
        /// Seconds per temporal patch of every video (`video_second_per_grid`).
        public var secondsPerGrid: [Double] = []
        /// Valid mel frames of every audio (including the audio tracks of videos when `useAudioInVideo`).
        public var audioFrames: [Int] = []
        /// Videos carry their audio track interleaved with their frames.
        public var useAudioInVideo = false
        public init(imageGrids: [VisionEncoder.Grid] = [], videoGrids: [VisionEncoder.Grid] = [], secondsPerGrid: [Double] = [],
                    audioFrames: [Int] = [], useAudioInVideo: Bool = false) {
            self.imageGrids = imageGrids
            self.videoGrids = videoGrids
            self.secondsPerGrid = secondsPerGrid
            self.audioFrames = audioFrames
            self.useAudioInVideo = useAudioInVideo
        }
    }

    /// Three rows of T positions for `ids` (every token valid).
    public func positions(ids: [Int], media: Media) throws -> [[Int64]] {
        let c = config, m = c.vision.spatialMergeSize, pps = c.positionIDPerSeconds
        var rows: [[Int64]] = [[], [], []]
        var lastMax: Int64 = -1   // max over the three rows of the last piece appended
        func next() -> Int64 { lastMax + 1 }
        func append(_ t: [Int64], _ h: [Int64], _ w: [Int64]) {
            guard !t.isEmpty else { return }
            rows[0] += t; rows[1] += h; rows[2] += w
            lastMax = max(t.max()!, h.max()!, w.max()!)
        }
        func text(_ n: Int) {
            guard n > 0 else { return }
            let s = next(), r = (0..<Int64(n)).map { s + $0 }
            append(r, r, r)
        }
        func vision(_ g: VisionEncoder.Grid, tIndex: [Int64], start s: Int64) -> (t: [Int64], h: [Int64], w: [Int64]) {
            var t: [Int64] = [], h: [Int64] = [], w: [Int64] = []
            for k in tIndex {
                for y in 0..<(g.h / m) { for x in 0..<(g.w / m) { t.append(s + k); h.append(s + Int64(y)); w.append(s + Int64(x)) } }
            }
            return (t, h, w)
        }
        func chunks(_ values: [Int64], start s: Int64) -> [Range<Int>] {
            Self.chunks(values.map { $0 - s }, per: Int64(pps * c.secondsPerChunk))
        }

        let n = ids.count
        // Every grid must fit the prompt before any position is built (a corrupt grid must not allocate billions).
        for (name, grids) in [("image_grid_thw", media.imageGrids), ("video_grid_thw", media.videoGrids)] {
            for (i, g) in grids.enumerated() {
                let (th, o1) = g.t.multipliedReportingOverflow(by: max(g.h / m, 0))
                let (thw, o2) = th.multipliedReportingOverflow(by: max(g.w / m, 0))
                guard g.t >= 1, g.h >= m, g.w >= m, g.h % m == 0, g.w % m == 0, !o1, !o2, thw <= n else {
                    throw OmniError.invalidArgument(name: "\(name)[\(i)]",
                                                    expected: "positive (t, h, w), h and w multiples of \(m), at most \(n) merged tokens",
                                                    actual: "(\(g.t), \(g.h), \(g.w))")
                }
            }
        }
        for (i, f) in media.audioFrames.enumerated() where f < 0 || AudioEncoder.tokens(frames: f) > n {
            throw OmniError.invalidArgument(name: "feature_attention_mask[\(i)]", expected: "at most \(n) audio tokens", actual: "\(f) frames")
        }
        let audioID = c.audioTokenID, imageID = c.imageTokenID, videoID = c.videoTokenID
        let hasVision = !media.imageGrids.isEmpty || !media.videoGrids.isEmpty
        guard let visionStart = c.visionStartTokenID ?? (hasVision ? nil : -1) else {
            throw OmniError.config(file: "config.json", keyPath: "thinker_config.vision_start_token_id",
                                   expected: "an id (needed to place images and videos)", actual: "missing")
        }
        var imageNums = 0, videoNums = 0
        for i in 0..<max(0, n - 1) where ids[i] == visionStart {
            if ids[i + 1] == imageID { imageNums += 1 }
            if ids[i + 1] == videoID || (media.useAudioInVideo && ids[i + 1] == c.audioStartTokenID) { videoNums += 1 }
        }
        let audioNums = ids.filter { $0 == c.audioStartTokenID }.count
        guard imageNums == media.imageGrids.count else {
            throw OmniError.invalidArgument(name: "image_grid_thw", expected: "\(imageNums) grid(s), one per image in input_ids",
                                            actual: "\(media.imageGrids.count)")
        }
        guard videoNums == media.videoGrids.count, media.secondsPerGrid.count == media.videoGrids.count else {
            throw OmniError.invalidArgument(name: "video_grid_thw", expected: "\(videoNums) grid(s) and as many video_second_per_grid values",
                                            actual: "\(media.videoGrids.count) and \(media.secondsPerGrid.count)")
        }
        guard audioNums == media.audioFrames.count else {
            throw OmniError.invalidArgument(name: "feature_attention_mask", expected: "\(audioNums) audio(s), one per <|audio_bos|> in input_ids",
                                            actual: "\(media.audioFrames.count)")
        }
        let segments = media.useAudioInVideo ? imageNums + audioNums : imageNums + videoNums + audioNums
        var st = 0, imageIdx = 0, videoIdx = 0, audioIdx = 0
        func first(_ id: Int, remaining: Bool) -> Int {
            guard remaining else { return Int.max }
            return ids[st...].firstIndex(of: id) ?? Int.max
        }
        func bad(_ what: String) -> OmniError {
            .invalidArgument(name: "input_ids", expected: "placeholders laid out as the processor expands them", actual: what)
        }
        for _ in 0..<segments {
            let edImage = first(imageID, remaining: imageIdx < imageNums)
            let edVideo = first(videoID, remaining: videoIdx < videoNums)
            let edAudio = first(audioID, remaining: audioIdx < audioNums)
            let ed = min(edImage, edVideo, edAudio)
            guard ed != Int.max else { throw bad("fewer placeholders than the media") }
            if media.useAudioInVideo && ed == edVideo {
                let textLen = edVideo - st - 2
                guard textLen >= 0 else { throw bad("a video without <|vision_bos|><|audio_bos|> before it") }
                text(textLen)
                let bos = next(); append([bos, bos], [bos, bos], [bos, bos])
                let s = next()
                let g = media.videoGrids[videoIdx]
                let a = AudioEncoder.tokens(frames: media.audioFrames[audioIdx])
                let audio = (0..<Int64(a)).map { s + $0 }
                let v = vision(g, tIndex: Self.videoTimes(g.t, secondsPerGrid: media.secondsPerGrid[videoIdx], pps: pps), start: s)
                let vc = chunks(v.t, start: s), ac = chunks(audio, start: s)
                for j in 0..<max(vc.count, ac.count) {
                    if j < vc.count { let r = vc[j]; append(Array(v.t[r]), Array(v.h[r]), Array(v.w[r])) }
                    if j < ac.count { let r = Array(audio[ac[j]]); append(r, r, r) }
                }
                let eos = next(); append([eos, eos], [eos, eos], [eos, eos])
                st += textLen + 2 + a + g.patches / (m * m) + 2
                videoIdx += 1; audioIdx += 1
            } else if ed == edAudio {
                let textLen = edAudio - st - 1
                guard textLen >= 0 else { throw bad("an audio without <|audio_bos|> before it") }
                text(textLen); text(1)
                let a = AudioEncoder.tokens(frames: media.audioFrames[audioIdx])
                text(a); text(1)
                st += textLen + 1 + a + 1
                audioIdx += 1
            } else {
                let isImage = ed == edImage
                let textLen = ed - st - 1
                guard textLen >= 0 else { throw bad("an image or video without <|vision_bos|> before it") }
                text(textLen); text(1)
                let g = isImage ? media.imageGrids[imageIdx] : media.videoGrids[videoIdx]
                let tIndex = isImage ? (0..<g.t).map { Int64($0 * pps) }
                    : Self.videoTimes(g.t, secondsPerGrid: media.secondsPerGrid[videoIdx], pps: pps)
                let v = vision(g, tIndex: tIndex, start: next())
                append(v.t, v.h, v.w)
                text(1)
                st += textLen + 1 + g.patches / (m * m) + 1
                if isImage { imageIdx += 1 } else { videoIdx += 1 }
            }
            guard st <= n else { throw bad("placeholder runs longer than the prompt") }
        }
        text(n - st)
        guard rows[0].count == n else { throw bad("\(rows[0].count) positions for \(n) tokens") }
        return rows
    }
}
