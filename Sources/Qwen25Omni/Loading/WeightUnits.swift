import OmniCore

/// A placement unit with the checkpoint tensors it holds.
public struct PlannedUnit: Sendable, Hashable {
    /// Prefix, component, bytes at the run dtype, tied group.
    public var unit: PlacementUnit
    /// Which component (the typed form of `unit.component`).
    public var component: Component
    /// Checkpoint names of its tensors, sorted.
    public var tensorNames: [String]
    /// Bytes as stored in the checkpoint.
    public var storedBytes: Int
}

/// Groups checkpoint tensors into no-split placement units (OMNI-SPEC §2):
///
/// | unit | holds |
/// |---|---|
/// | `thinker.model.embed_tokens` | the embedding (tied with the head when `thinker_config.tie_word_embeddings`) |
/// | `thinker.model.layers.N` | one decoder layer |
/// | `thinker.model.norm`, `thinker.lm_head` | final norm and head, one tied group (`thinker.head`) |
/// | `thinker.audio_tower.layers.N`, `thinker.audio_tower` | one encoder layer; the rest (convs, ln_post, proj) |
/// | `thinker.visual.blocks.N`, `thinker.visual` | one ViT block; the rest (patch embed, merger) |
/// | `talker.model.layers.N`, `talker` | one talker layer; the rest (proj, embeddings, norm, codec head) |
/// | `token2wav.code2wav_dit_model`, `token2wav.code2wav_bigvgan_model` | the DiT; BigVGAN |
///
/// Units come in this order: the text decoder first (it runs for every generated token, so it is the last to
/// spill to disk under sequential placement), then the towers, talker and token2wav. accelerate uses module
/// order (towers first); this deviates on purpose. A thinker-only checkpoint has no `thinker.` prefix.
enum WeightUnits {
    /// Builds units; talker and token2wav tensors are returned as skipped when audio output is off.
    /// Throws `unusedTensors` for names outside the module tree and `weightFile` for impossible shapes.
    static func make(infos: [TensorInfo], config: OmniConfig, dtype: DTypePolicy, enableAudioOutput: Bool) throws
        -> (units: [PlannedUnit], skipped: [String])
    {
        let p = config.isThinkerOnly && !infos.contains(where: { $0.name.hasPrefix("thinker.") }) ? "" : "thinker."
        var byPrefix: [String: PlannedUnit] = [:]
        var sortKey: [String: [Int]] = [:]
        var skipped: [String] = [], unknown: [String] = []
        for info in infos {
            guard let (prefix, component, key) = locate(info.name, p) else { unknown.append(info.name); continue }
            if !enableAudioOutput, component == .talker || component == .token2wav {
                skipped.append(info.name)
                continue
            }
            guard let elements = info.shape.checkedElementCount, let stored = info.dtype.byteCount(elements: elements),
                  let run = dtype.dtype(for: info.name, stored: info.dtype, shape: info.shape).byteCount(elements: elements)
            else {
                throw OmniError.weightFile(file: info.file, tensor: info.name,
                                           reason: "shape \(info.shape) is impossible for \(info.dtype)")
            }
            var u = byPrefix[prefix] ?? PlannedUnit(unit: PlacementUnit(prefix: prefix, component: component.rawValue,
                                                                        bytes: 0), component: component,
                                                    tensorNames: [], storedBytes: 0)
            u.unit.bytes += run
            u.storedBytes += stored
            u.tensorNames.append(info.name)
            byPrefix[prefix] = u
            sortKey[prefix] = key
        }
        if !unknown.isEmpty { throw OmniError.unusedTensors(keys: unknown.sorted()) }
        let tiedEmbed = config.thinker.tieWordEmbeddings
        var units = byPrefix.values.sorted { (sortKey[$0.unit.prefix] ?? []).lexicographicallyPrecedes(sortKey[$1.unit.prefix] ?? []) }
        for i in units.indices {
            units[i].tensorNames.sort()
            let pre = units[i].unit.prefix
            if pre == p + "model.norm" || pre == p + "lm_head" || (tiedEmbed && pre == p + "model.embed_tokens") {
                units[i].unit.tiedGroup = "thinker.head"
            }
        }
        return (units, skipped.sorted())
    }

    /// The unit prefix, component and model-order sort key of a checkpoint name, or nil when it is unknown.
    static func locate(_ name: String, _ p: String) -> (String, Component, [Int])? {
        func layer(_ base: String) -> (String, Int)? {
            guard name.hasPrefix(base + ".") else { return nil }
            let rest = name.dropFirst(base.count + 1)
            guard let n = Int(rest.prefix { $0.isNumber }), rest.dropFirst(String(n).count).first == "." else { return nil }
            return ("\(base).\(n)", n)
        }
        func under(_ base: String) -> Bool { name == base || name.hasPrefix(base + ".") }
        if under(p + "model.embed_tokens") { return (p + "model.embed_tokens", .thinker, [0, 0]) }
        if let (u, n) = layer(p + "model.layers") { return (u, .thinker, [0, 1, n]) }
        if under(p + "model.norm") { return (p + "model.norm", .thinker, [0, 2]) }
        if under(p + "lm_head") { return (p + "lm_head", .thinker, [0, 3]) }
        if let (u, n) = layer(p + "audio_tower.layers") { return (u, .audioTower, [1, 1, n]) }
        if under(p + "audio_tower") { return (p + "audio_tower", .audioTower, [1, 0]) }
        if let (u, n) = layer(p + "visual.blocks") { return (u, .visionTower, [2, 1, n]) }
        if under(p + "visual") { return (p + "visual", .visionTower, [2, 0]) }
        if let (u, n) = layer("talker.model.layers") { return (u, .talker, [3, 1, n]) }
        if under("talker") { return ("talker", .talker, [3, 0]) }
        if under("token2wav.code2wav_dit_model") { return ("token2wav.code2wav_dit_model", .token2wav, [4, 0]) }
        if under("token2wav.code2wav_bigvgan_model") { return ("token2wav.code2wav_bigvgan_model", .token2wav, [4, 1]) }
        return nil
    }
}
