import CKernels
import OmniCore

/// The thinker side's activation memory for a workload and chunk sizes, from the graphs those runs build (issue 14):
/// every phase's graph is built as generation builds it (audio-tower groups, vision-tower groups, the embedding
/// lookup, the prefill chunks, a decode step) and sized by `RunMemory` (its arena, its attention backend's scratch,
/// the linear kernel's weight panels). Nothing runs and no weight is read, so `omni plan` can size a 60 s video.
///
/// `choose` picks the largest chunk sizes whose memory fits a byte budget.
public struct ActivationPlanner: Sendable {
    public let config: OmniConfig
    public let workload: Workload
    /// Attention chains per component, the dtype policy (which decides the weight panels) and the registry.
    public let options: LoadOptions
    public let registry: PluginRegistry
    /// Executor threads the plan is for.
    public let threads: Int
    /// Stored dtype per checkpoint key (missing keys count as f32).
    let storedDTypes: [String: (DType, Shape)]
    /// `options.dtype` for this config (a tied table quantized with the linears).
    let weightPolicy: DTypePolicy
    /// Whether the towers are loaded (a text-only export has none).
    let audioTower: Bool, visionTower: Bool
    /// The compute device the runs are planned for (nil: the cpu) and its plugin, which sizes a run there.
    public let computeDevice: DeviceID?
    let devicePlugin: (any ComputeDevicePlugin)?

    /// The smallest prefill chunk the planner picks (smaller chunks cost more time than they save memory).
    public static let minimumPrefillChunk = 64
    /// Rows per run of the embedding lookup that builds a media prompt's embeddings (`OmniModel.inputEmbeddings`).
    public static let embeddingRowsPerRun = 512

    /// A planner for `workload` with the tensors `infos` under `options`, for `threads` executor workers. Throws
    /// `OmniError.invalidArgument` naming the phase when a graph of this config and workload would hold a tensor or an
    /// arena whose size does not fit in `Int` (a hostile config or input), before any graph is built.
    /// With a `computeDevice` (a GPU), each run is sized as that device's plugin says its executor allocates it.
    public init(config: OmniConfig, workload: Workload, options: LoadOptions, registry: PluginRegistry, infos: [TensorInfo],
                threads: Int, components: Set<Component> = Set(Component.allCases), computeDevice: DeviceID? = nil) throws {
        try Self.checkSizes(config: config, workload: workload)
        self.config = config
        self.workload = workload
        self.options = options
        weightPolicy = options.dtype.tied(config)
        self.registry = registry
        self.threads = max(1, threads)
        var stored: [String: (DType, Shape)] = [:]
        for i in infos { stored[i.name] = (i.dtype, i.shape) }
        storedDTypes = stored
        audioTower = components.contains(.audioTower)
        visionTower = components.contains(.visionTower)
        self.computeDevice = computeDevice == .cpu ? nil : computeDevice
        devicePlugin = self.computeDevice.flatMap { try? registry.computeDevice(kind: $0.kind) }
    }

    /// Every graph's nodes hold at most (rows × widest row) elements and a graph has fewer than 64 nodes per layer:
    /// checks that bound, in bytes, fits in `Int` for the thinker, the audio tower and the vision tower.
    static func checkSizes(config: OmniConfig, workload w: Workload) throws {
        let t = config.thinker.text, a = config.thinker.audio, v = config.thinker.vision
        func check(_ rows: Checked, _ widths: [Int], _ layers: Int, _ phase: String) throws {
            let widest = widths.max() ?? 0
            guard rows.value.map({ $0 >= 0 }) ?? false, widths.allSatisfy({ $0 >= 0 }),
                  (rows * widest * 4 * 64 * (Checked(max(0, layers)) + 2)).value != nil else {
                throw OmniError.invalidArgument(name: "\(phase) estimate", expected: "sizes whose products fit in Int (smaller input or config values)",
                                                actual: "\(rows.value.map { "\($0)" } ?? "overflow") rows of up to \(widest) values")
            }
        }
        // Graphs hold index arrays per row: beyond the model's positions they would be built for nothing (generation
        // refuses such a prompt) and could exhaust memory while being built. With M-RoPE the prompt is bounded by its
        // largest position id, not its rows (60 s of video with its audio: ~45k rows at positions below 2k).
        let positions = t.maxPositionEmbeddings, merge = (Checked(v.spatialMergeSize) * v.spatialMergeSize).saturated
        let largest = Checked(w.largestPosition ?? (w.promptTokens - 1))
        guard w.promptTokens >= 0, w.newTokens >= 0, let end = (largest + 1 + w.newTokens).value, end <= positions else {
            throw OmniError.invalidArgument(name: "thinker prefill estimate",
                expected: "a largest M-RoPE position plus new tokens of at most \(positions) (max_position_embeddings)",
                actual: largest.value.map { "positions 0 … \($0) and \(w.newTokens) new tokens" } ?? "an overflowing position")
        }
        // The towers' rows fill the prompt's placeholders: no more than the prompt has (or the positions, for a
        // tower planned alone).
        let rows = max(w.promptTokens, positions)
        let tokens = [("audio tower", Checked.sum(w.audioFrames.map { $0 / 4 })),
                      ("vision tower", Checked.sum((w.imageGrids + w.videoGrids).map { (Checked($0.t) * $0.h * $0.w).value ?? Int.max }) / max(1, merge))]
        for (phase, n) in tokens where !(n.value.map { $0 <= rows } ?? false) {
            throw OmniError.invalidArgument(name: "\(phase) estimate",
                expected: "at most \(rows) tokens (the prompt's rows, or max_position_embeddings)",
                actual: n.value.map { "\($0) tokens" } ?? "an overflowing token count")
        }
        try check(Checked(w.promptTokens) + w.newTokens, [t.hiddenSize, t.intermediateSize, (Checked(t.heads) * t.headDim).saturated,
                                                          t.vocabSize], t.layers, "thinker prefill")
        try check(Checked.sum(w.audioFrames), [a.dModel, a.ffnDim, (Checked(a.melBins) * 3).saturated], a.layers, "audio tower")
        let patches = Checked.sum((w.imageGrids + w.videoGrids).map { (Checked($0.t) * $0.h * $0.w).value ?? Int.max })
        try check(patches, [v.hiddenSize, v.intermediateSize, (Checked(v.inChannels) * v.temporalPatchSize * v.patchSize * v.patchSize).saturated,
                            v.outHiddenSize], v.depth, "vision tower")
    }

    /// One phase: its name and the memory of each distinct run it makes, united.
    public struct Phase: Sendable {
        public var name: String
        public var memory: RunMemory
    }

    /// The phases and their union for `chunks` (nil fields: one run).
    public struct Result: Sendable {
        public var chunks: ChunkSizes
        public var phases: [Phase]
        /// What the executor holds after every phase (`RunMemory.union`).
        public var union: RunMemory
        /// Host rows that grow with the prompt outside the executor: a media prompt's embeddings [T, hidden] f32.
        public var promptRows: Int
        /// Executor activations and scratch at peak.
        public var total: Int { union.total }
    }

    func memory(_ graph: Graph, cachedRows: Int = 0) -> RunMemory {
        let weightDType = { (key: String) -> DType in
            guard let (dtype, shape) = storedDTypes[key] else { return .f32 }
            return weightPolicy.dtype(for: key, stored: dtype, shape: shape)
        }
        if let plugin = devicePlugin, let m = plugin.runMemory(graph: graph, keep: [], cachedRows: cachedRows,
                                                                precision: options.computePrecision, weightDType: weightDType) {
            return m
        }
        return RunMemory(graph: graph, cachedRows: cachedRows, registry: registry, threads: threads, weightDType: weightDType,
                         bf16GEMM: options.computePrecision == .bf16 && omni_gemm_bf16w_available() != 0)
    }

    /// The phases for `chunks`.
    public func plan(_ chunks: ChunkSizes) -> Result {
        assemble(chunks, audio: audioPhase(chunks.audioWindows), vision: visionPhases(chunks.visionSlices),
                 prefill: prefillPhase(chunks.prefillChunk))
    }

    func assemble(_ chunks: ChunkSizes, audio: [Phase], vision: [Phase], prefill: Phase) -> Result {
        var phases = audio + vision
        let t = max(1, workload.promptTokens), d = config.thinker.text.hiddenSize
        let thinker = ThinkerTextModel(thinker: config.thinker, attention: options.attentionChain(for: .thinker))
        if workload.hasMedia {
            phases.append(Phase(name: "embedding lookup", memory: memory(Self.embeddingGraph(
                rows: min(t, Self.embeddingRowsPerRun), thinker: thinker))))
        }
        phases.append(prefill)
        if workload.newTokens > 1 {
            phases.append(Phase(name: "thinker decode", memory: memory(thinker.graph(ThinkerTextModel.Inputs(tokens: 1)),
                                                                   cachedRows: t + workload.newTokens - 2)))
        }
        let rows = workload.hasMedia ? (Checked(t) * d * 4).saturated : 0
        return Result(chunks: chunks, phases: phases, union: .union(phases.map(\.memory)), promptRows: rows)
    }

    /// The audio tower's runs: whole (every audio in one run) or in groups of `windowsPerRun` windows, as
    /// `OmniModel.encodeAudio` cuts them.
    func audioPhase(_ windowsPerRun: Int?) -> [Phase] {
        guard audioTower, !workload.audioFrames.isEmpty else { return [] }
        let audio = AudioEncoder(config: config.thinker.audio, attention: options.attentionChain(for: .audioTower))
        var runs: [[Int]] = []
        if let n = windowsPerRun {
            let windows = audio.config.nWindow % 2 == 0 || n % 2 == 0 ? n : n + 1
            let group = min(windows, Int(Int32.max) / audio.chunkFrames) * audio.chunkFrames
            var lengths = Set<Int>()
            for len in workload.audioFrames {
                var offset = 0
                while offset < len {
                    let frames = min(group, len - offset)
                    if AudioEncoder.tokens(frames: frames) >= 1 { lengths.insert(frames) }
                    offset += frames
                }
            }
            runs = lengths.sorted().map { [$0] }
        } else {
            let lengths = workload.audioFrames.filter { AudioEncoder.tokens(frames: $0) >= 1 }
            runs = lengths.isEmpty ? [] : [lengths]
        }
        return [Phase(name: "audio tower", memory: .union(runs.map { memory(audio.graph(lengths: $0)) }))]
    }

    /// The vision tower's runs for the images and for the videos: whole, or in groups of `slicesPerRun` t-slices of
    /// one grid, as `OmniModel.encodeVision` cuts them.
    func visionPhases(_ slicesPerRun: Int?) -> [Phase] {
        guard visionTower else { return [] }
        let vision = VisionEncoder(config: config.thinker.vision, attention: options.attentionChain(for: .visionTower))
        var phases: [Phase] = []
        for (name, grids) in [("vision tower, images", workload.imageGrids), ("vision tower, video", workload.videoGrids)]
            where !grids.isEmpty {
            var runs: [[VisionEncoder.Grid]] = [grids]
            if let n = slicesPerRun {
                var pieces = Set<VisionEncoder.Grid>()
                for g in grids {
                    pieces.insert(VisionEncoder.Grid(t: min(n, g.t), h: g.h, w: g.w))
                    if g.t > n, g.t % n != 0 { pieces.insert(VisionEncoder.Grid(t: g.t % n, h: g.h, w: g.w)) }
                }
                runs = pieces.sorted { ($0.t, $0.h, $0.w) < ($1.t, $1.h, $1.w) }.map { [$0] }
            }
            phases.append(Phase(name: name, memory: .union(runs.map { memory(vision.graph(grids: $0)) })))
        }
        return phases
    }

    /// Prefill in chunks of `chunk` rows (nil: one step): every full chunk has the same graph (the last one sees the
    /// most keys), then the shorter last chunk.
    func prefillPhase(_ chunk: Int?) -> Phase {
        let t = max(1, workload.promptTokens), c = min(chunk ?? t, t)
        let thinker = ThinkerTextModel(thinker: config.thinker, attention: options.attentionChain(for: .thinker))
        let graph = { (rows: Int) in
            thinker.graph(ThinkerTextModel.Inputs(tokens: rows, fromEmbeddings: workload.hasMedia, lastLogitsOnly: true))
        }
        var runs: [RunMemory] = []
        let full = t / c, rest = t % c
        if full > 0 { runs.append(memory(graph(c), cachedRows: (full - 1) * c)) }
        if rest > 0 { runs.append(memory(graph(rest), cachedRows: t - rest)) }
        return Phase(name: "thinker prefill", memory: .union(runs))
    }

    /// The embedding lookup of `rows` ids: [rows] i64 → [rows, hidden] (`thinker.embeds`).
    static func embeddingGraph(rows: Int, thinker: ThinkerTextModel) -> Graph {
        var g = Graph()
        let ids = g.input(ThinkerTextModel.inputIDs, shape: [rows], dtype: .i64)
        let table = g.weight(thinker.scope["embed_tokens.weight"], shape: [thinker.config.vocabSize, thinker.config.hiddenSize])
        g.markOutput(g.embedding(table, ids: ids, name: ThinkerTextModel.embeds))
        return g
    }

    /// Candidates per dimension, smallest first, nil (one run) last: powers of two from the floor up to the input.
    func candidates(_ requested: Int?, floor: Int, whole: Int) -> [Int?] {
        if let r = requested { return [r] }
        guard whole > floor else { return [nil] }
        var out: [Int?] = []
        var n = floor
        while n < whole { out.append(n); n *= 2 }
        return out + [nil]
    }

    /// The smallest chunk sizes (what `requested` fixes, the rest at their floor): the least memory chunking gives.
    public func smallest(requested: ChunkSizes = ChunkSizes()) -> Result { choose(requested: requested, budget: -1) }

    /// The largest chunk sizes whose `total` fits `budget` bytes, keeping what `requested` fixes: the prefill chunk
    /// grows first (it costs the most time when small), then the audio windows, then the vision slices, each to the
    /// largest value that still fits with the others. Without a budget every free dimension runs whole. When even the
    /// smallest sizes do not fit, returns the smallest (the caller reports the shortfall).
    public func choose(requested: ChunkSizes = ChunkSizes(), budget: Int?) -> Result {
        let w = workload
        let windows = w.audioFrames.map { ($0 + 2 * config.thinker.audio.nWindow - 1) / (2 * config.thinker.audio.nWindow) }.max() ?? 0
        let slices = (w.imageGrids + w.videoGrids).map(\.t).max() ?? 0
        let p = candidates(requested.prefillChunk, floor: Self.minimumPrefillChunk, whole: w.promptTokens)
        let a = w.audioFrames.isEmpty ? [requested.audioWindows] : candidates(requested.audioWindows, floor: 1, whole: windows)
        let v = slices == 0 ? [requested.visionSlices] : candidates(requested.visionSlices, floor: 1, whole: slices)
        guard let budget else {
            return plan(ChunkSizes(prefillChunk: p.last ?? nil, audioWindows: a.last ?? nil, visionSlices: v.last ?? nil))
        }
        // Each phase depends on one dimension only: sized once per candidate.
        var audio: [Int?: [Phase]] = [:], vision: [Int?: [Phase]] = [:], prefill: [Int?: Phase] = [:]
        func sized(_ c: ChunkSizes) -> Result {
            if audio[c.audioWindows] == nil { audio[c.audioWindows] = audioPhase(c.audioWindows) }
            if vision[c.visionSlices] == nil { vision[c.visionSlices] = visionPhases(c.visionSlices) }
            if prefill[c.prefillChunk] == nil { prefill[c.prefillChunk] = prefillPhase(c.prefillChunk) }
            return assemble(c, audio: audio[c.audioWindows] ?? [], vision: vision[c.visionSlices] ?? [],
                            prefill: prefill[c.prefillChunk] ?? prefillPhase(c.prefillChunk))
        }
        var chosen = ChunkSizes(prefillChunk: p[0], audioWindows: a[0], visionSlices: v[0])
        var best = sized(chosen)
        guard best.total <= budget else { return best }
        func grow(_ values: [Int?], _ set: (inout ChunkSizes, Int?) -> Void) {
            for value in values.dropFirst() {
                var trial = chosen
                set(&trial, value)
                let r = sized(trial)
                guard r.total <= budget else { break }
                chosen = trial
                best = r
            }
        }
        grow(p) { $0.prefillChunk = $1 }
        grow(a) { $0.audioWindows = $1 }
        grow(v) { $0.visionSlices = $1 }
        return best
    }
}
