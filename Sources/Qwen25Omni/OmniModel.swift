import Foundation
import OmniCore

/// A loaded Qwen2.5-Omni checkpoint: config, tokenizer, weights and the model graphs, ready to generate.
///
/// `OmniModel.fromPretrained("Qwen/Qwen2.5-Omni-7B", options:, registry:, executor:)` resolves a folder or a
/// Hugging Face cache entry, reads the config (either spelling), opens the weights through the registry's
/// weight formats (headers only: tensors stay in their mapped files until first use), checks every weight the
/// thinker's text decoder needs (missing, mis-shaped and unused keys are errors naming the key), and
/// builds the model. Import `SwiftOmni` for the variant that fills in the built-in registry and CPU executor.
///
/// Concurrency: one loaded model serves many sessions at once from any task or thread. The executor serializes
/// its runs, every session guards its own state, and `generateBatched` runs sessions that decode at the same time
/// as one batched step on `decoder`. (`@unchecked` only for `audioWindowsPerRun` / `visionSlicesPerRun`, settings
/// an app assigns before sharing the model, and the attention log, which is behind `logLock`.)
public final class OmniModel: @unchecked Sendable {
    public let directory: ModelDirectory
    public let config: OmniConfig
    public let tokenizer: Tokenizer
    public let weights: ModelWeights
    public let thinker: ThinkerTextModel
    /// The audio tower; nil when the checkpoint has no `thinker.audio_tower` weights (a text-only export).
    public let audio: AudioEncoder?
    /// The vision tower; nil when the checkpoint has no `thinker.visual` weights.
    public let vision: VisionEncoder?
    /// The talker; nil when audio output is off (in the options or the config) or the checkpoint has no
    /// `talker.*` weights.
    public let talker: TalkerModel?
    public let executor: any GraphExecutor
    public let registry: PluginRegistry
    public let options: LoadOptions
    /// Where every unit was placed and the memory the plan predicted (`omni plan` prints the same).
    public let plan: LoadPlan
    /// Runs the decode steps of concurrent `generateBatched` calls as batched steps, and admits sessions under
    /// `options.maxBatch` and the KV budget.
    public let decoder: BatchDecoder
    /// Native audio windows (2·n_window mel frames each) per audio-tower run; nil runs every audio at once.
    /// Bounds the tower's activations by the group instead of the audio's length; see `encodeAudio`.
    public var audioWindowsPerRun: Int?
    /// Temporal patches (t-slices of a grid, 2 frames each for video) per vision-tower run; nil runs every grid at
    /// once. Bounds the tower's activations by the group instead of the video's length; see `encodeVision`.
    public var visionSlicesPerRun: Int?

    init(directory: ModelDirectory, config: OmniConfig, tokenizer: Tokenizer, weights: ModelWeights,
         thinker: ThinkerTextModel, audio: AudioEncoder?, vision: VisionEncoder?, talker: TalkerModel?,
         executor: any GraphExecutor,
         registry: PluginRegistry, options: LoadOptions, plan: LoadPlan, decoder: BatchDecoder) {
        self.directory = directory
        self.config = config
        self.tokenizer = tokenizer
        self.weights = weights
        self.thinker = thinker
        self.audio = audio
        self.vision = vision
        self.talker = talker
        self.executor = executor
        self.registry = registry
        self.options = options
        self.plan = plan
        self.decoder = decoder
    }

    /// Loads `idOrPath` (a folder, or `org/name` in the Hugging Face cache at `options.revision`).
    ///
    /// Placement follows `options.deviceMap` under `options.maxMemory` (see `LoadPlan`); units placed on `disk`
    /// stay in their mapped files and are paged in around their layer. `explicitPlacement` makes the strategy for
    /// an explicit device map (`SwiftOmni` passes the built-in one).
    public static func fromPretrained(_ idOrPath: String, options: LoadOptions = LoadOptions(),
                                      registry: PluginRegistry, executor: any GraphExecutor,
                                      explicitPlacement: (([String: DeviceID]) -> any PlacementStrategy)? = nil)
        throws -> OmniModel {
        options.progress?(LoadProgress(stage: "resolving", done: 0, total: 0))
        let dir = try ModelDirectory.resolve(idOrPath, revision: options.revision)
        let config = try OmniConfig.load(directory: dir.folder)
        let tokenizer = try Tokenizer(directory: dir.folder.path)
        if options.isCancelled() { throw OmniError.cancelled }
        let format = try registry.weightFormat(for: dir.folder)
        let source = try format.open(dir.folder)
        options.progress?(LoadProgress(stage: "mapped \(source.files.count) weight file(s)", done: 0, total: 0))
        // Layer counts against the checkpoint before any graph is built (a config claiming 10^9 layers is an error).
        try CheckpointLimits.check(config: config, names: source.names,
                                   file: dir.folder.appendingPathComponent("config.json").path)
        let thinker = ThinkerTextModel(thinker: config.thinker, attention: options.attentionChain(for: .thinker))
        // Tied (the thinker config's flag): an lm_head the checkpoint still carries is not read, as transformers
        // replaces it with the embedding when it ties them.
        try checkWeights(expected: thinker.expectedWeights(), source: source,
                         scopePrefixes: config.thinker.tieWordEmbeddings ? ["thinker.model."] : ["thinker.model.", "thinker.lm_head."])
        // The audio tower is built when the checkpoint has it (text-only exports leave it out), and then loaded
        // as strictly as the decoder.
        var audio: AudioEncoder?
        var components = builtComponents
        if source.names.contains(where: { $0.hasPrefix(AudioEncoder.keyPrefix) }) {
            let a = AudioEncoder(config: config.thinker.audio, attention: options.attentionChain(for: .audioTower))
            try checkWeights(expected: a.expectedWeights(), source: source, scopePrefixes: [AudioEncoder.keyPrefix])
            audio = a
        } else {
            components.remove(.audioTower)
        }
        var vision: VisionEncoder?
        if source.names.contains(where: { $0.hasPrefix(VisionEncoder.keyPrefix) }) {
            let v = VisionEncoder(config: config.thinker.vision, attention: options.attentionChain(for: .visionTower))
            try checkWeights(expected: v.expectedWeights(), source: source, scopePrefixes: [VisionEncoder.keyPrefix])
            vision = v
        } else {
            components.remove(.visionTower)
        }
        // The talker is built when audio output is on and the checkpoint has it, and loaded as strictly.
        var talker: TalkerModel?
        if options.enableAudioOutput, config.enableAudioOutput, let tc = config.talker,
           source.names.contains(where: { $0.hasPrefix(TalkerModel.keyPrefix) }) {
            let t = TalkerModel(config: tc, attention: options.attentionChain(for: .talker))
            try checkWeights(expected: t.expectedWeights(), source: source, scopePrefixes: [TalkerModel.keyPrefix])
            talker = t
        } else {
            components.remove(.talker)
        }
        // token2wav (built on demand by `speak` / `Token2Wav(model:)`) is planned with the talker that feeds it.
        if talker == nil || !source.names.contains(where: { $0.hasPrefix("token2wav.") }) { components.remove(.token2wav) }
        let plan = try LoadPlan.make(directory: dir, config: config, infos: source.names.compactMap { source.info($0) },
                                     options: options, input: options.plannedInput, registry: registry,
                                     explicitPlacement: explicitPlacement, components: components,
                                     computeDevice: executor.device.id == .cpu ? nil : executor.device.id)
        let diskKeys = Set(plan.units.filter { plan.placement.device(for: $0.unit.prefix) == .disk }
            .flatMap(\.tensorNames))
        let weights = ModelWeights(source: source, registry: registry, policy: plan.dtypePolicy, device: executor.hostDevice,
                                   diskKeys: diskKeys)
        if options.preload {
            // Only what this model runs: the thinker's text decoder, the towers and the talker (token2wav is
            // planned but not built yet).
            let keys = (Array(thinker.expectedWeights().keys) + (audio.map { Array($0.runWeights().keys) } ?? [])
                        + (vision.map { Array($0.expectedWeights().keys) } ?? [])
                        + (talker.map { Array($0.expectedWeights().keys) } ?? [])).sorted()
            let total = keys.reduce(0) { $0 + (diskKeys.contains($1) ? 0 : (source.info($1)?.byteRange.count ?? 0)) }
            try weights.preload(keys, isCancelled: options.isCancelled) { done in
                options.progress?(LoadProgress(stage: "paging in", done: done, total: total))
            }
        }
        options.progress?(LoadProgress(stage: "checking", done: 1, total: 1))
        guard (1...256).contains(options.maxBatch) else {
            throw OmniError.invalidArgument(name: "maxBatch", expected: "1 … 256 sessions", actual: "\(options.maxBatch)")
        }
        // What the cpu budget leaves after weights and activations, and at least the planned input's own cache (the
        // plan already checked that one session of that size fits).
        let kvBudget = options.sessionKVBudget ?? options.maxMemory[.cpu].map { budget in
            max(budget - plan.weightBytes(on: .cpu) - plan.estimates.activations, plan.estimates.thinkerKVCache)
        }
        let decoder = try BatchDecoder(model: thinker, executor: executor, weights: weights, maxBatch: options.maxBatch,
                                       kvBudget: kvBudget)
        return OmniModel(directory: dir, config: config, tokenizer: tokenizer, weights: weights, thinker: thinker,
                         audio: audio, vision: vision, talker: talker, executor: executor, registry: registry, options: options,
                         plan: plan, decoder: decoder)
    }

    /// Components this version builds and runs; the plan leaves the others out (their weights are not loaded).
    public static let builtComponents: Set<Component> = [.thinker, .audioTower, .visionTower, .talker, .token2wav]

    /// Strict loading: every expected key exists with its shape, and no key under the model's prefixes is unused.
    static func checkWeights(expected: [String: Shape], source: any WeightSource, scopePrefixes: [String]) throws {
        for key in expected.keys.sorted() {
            guard let info = source.info(key) else {
                throw OmniError.missingTensor(key: key, file: source.files.first.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })
            }
            if info.shape != expected[key]! {
                throw OmniError.shapeMismatch(key: key, expected: expected[key]!, actual: info.shape)
            }
        }
        let unused = source.names.filter { n in scopePrefixes.contains { n.hasPrefix($0) } && expected[n] == nil }
        if !unused.isEmpty { throw OmniError.unusedTensors(keys: unused) }
    }

    private let logLock = NSLock()
    private var fallbacks: [String] = []

    /// Attention backend fallbacks seen so far, deduplicated ("thinker.L0.attn: mine → eager: causal mask not
    /// supported"); empty when every call ran on the requested backend.
    public var attentionFallbacks: [String] {
        logLock.lock(); defer { logLock.unlock() }
        return fallbacks
    }

    func recordAttentionLog(_ entries: [String]) {
        logLock.lock(); defer { logLock.unlock() }
        for e in entries where !fallbacks.contains(e) { fallbacks.append(e) }
    }

    /// A new thinker session with room for `capacity` tokens.
    public func newSession(capacity: Int) throws -> ThinkerSession {
        try ThinkerSession(model: thinker, executor: executor, weights: weights, capacity: capacity)
    }

    /// The chat prompt for one user turn with the default system prompt. The user and system text is text:
    /// special-token strings in it (`<|im_start|>`) are encoded as plain text unless `rawText` asks for
    /// transformers' behaviour (they become control tokens).
    public func chatPrompt(_ user: String, system: String? = nil, rawText: Bool = false) -> [Int] {
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", text: system)) }
        messages.append(ChatMessage(role: "user", text: user))
        return tokenizer.encode(ChatTemplate().renderPrompt(messages, addGenerationPrompt: true), rawText: rawText)
    }

    /// Token ids that end generation: `<|im_end|>` (and `<|endoftext|>`) when the tokenizer has them.
    public var eosTokenIDs: Set<Int> {
        Set(["<|im_end|>", "<|endoftext|>"].compactMap { tokenizer.id(forToken: $0) })
    }
}
