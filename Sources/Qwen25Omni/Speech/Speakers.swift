import Foundation
import OmniCore

/// One voice of the speaker dictionary (`spk_dict.pt`, OMNI-SPEC §7.3): what token2wav and the talker need.
public struct Voice: Sendable {
    /// The speaker's name as the file spells it (`Chelsie`).
    public let name: String
    /// A thinker-vocabulary id: the talker's text BOS for this voice.
    public let bosToken: Int
    /// The speaker vector, f32 [encEmbDim] (the file may store (D,) or (1, D)).
    public let cond: Tensor
    /// The reference mel, f32 [T_ref, melDim] (the file stores (1, T_ref, melDim)), in the DiT's log-mel units.
    public let refMel: Tensor

    /// A voice from its parts (cond [encEmbDim], refMel [T_ref, melDim], both f32).
    public init(name: String, bosToken: Int, cond: Tensor, refMel: Tensor) {
        self.name = name
        self.bosToken = bosToken
        self.cond = cond
        self.refMel = refMel
    }
}

/// Every voice of a model's speaker dictionary, loaded strictly: each entry must hold exactly `bos_token`,
/// `cond` and `ref_mel`, and errors name the file and the key path (`spk_dict.pt: Chelsie.cond`).
public struct Speakers: Sendable {
    /// The file the voices came from.
    public let file: String
    /// Voices by name.
    public let voices: [String: Voice]

    /// A dictionary from its parts (`file` names it in errors).
    public init(file: String, voices: [String: Voice]) {
        self.file = file
        self.voices = voices
    }

    /// Voice names, sorted.
    public var names: [String] { voices.keys.sorted() }

    /// File names looked for, in this order.
    public static let fileNames = ["spk_dict.safetensors", "spk_dict.pt"]

    /// Loads `spk_dict.safetensors` or `spk_dict.pt` from `directory` through the registry's weight formats.
    public static func load(directory: URL, registry: PluginRegistry) throws -> Speakers {
        let candidates = fileNames.map { directory.appendingPathComponent($0) }
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw OmniError.io(path: directory.path, reason: "no speaker dictionary: looked for " + fileNames.joined(separator: ", "))
        }
        return try load(file: url, registry: registry)
    }

    /// Loads one speaker-dictionary file (torch pickle or safetensors).
    public static func load(file url: URL, registry: PluginRegistry) throws -> Speakers {
        let source = try registry.weightFormat(for: url).open(url)
        let path = url.path
        func fail(_ key: String?, _ reason: String) -> OmniError { .weightFile(file: path, tensor: key, reason: reason) }
        // Group every leaf (tensor or metadata) by its first path component: the voice name.
        var fields: [String: Set<String>] = [:]
        let leaves = source.names + source.metadata.keys.filter { $0.contains(".") }
        for key in leaves {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw fail(key, "expected NAME.bos_token, NAME.cond or NAME.ref_mel") }
            fields[parts[0], default: []].insert(parts[1])
        }
        guard !fields.isEmpty else { throw fail(nil, "no voices in the speaker dictionary") }
        var voices: [String: Voice] = [:]
        for (name, keys) in fields {
            let expected: Set<String> = ["bos_token", "cond", "ref_mel"]
            if let extra = keys.subtracting(expected).sorted().first {
                throw fail("\(name).\(extra)", "unexpected key (a voice holds bos_token, cond and ref_mel)")
            }
            if let missing = expected.subtracting(keys).sorted().first { throw fail("\(name).\(missing)", "missing") }
            let bos = try bosToken(source: source, key: "\(name).bos_token", fail: fail)
            let cond = try source.tensor("\(name).cond")
            let cs = cond.shape
            guard cond.dtype.isFloatingPoint, cs.rank == 1 || (cs.rank == 2 && cs[0] == 1), cs.elementCount > 0 else {
                throw fail("\(name).cond", "expected a float vector (D,) or (1, D), got \(cs) \(cond.dtype)")
            }
            let ref = try source.tensor("\(name).ref_mel")
            let rs = ref.shape
            guard ref.dtype.isFloatingPoint, (rs.rank == 3 && rs[0] == 1) || rs.rank == 2, rs.elementCount > 0 else {
                throw fail("\(name).ref_mel", "expected a float tensor (1, T_ref, mel_dim), got \(rs) \(ref.dtype)")
            }
            let frames = rs[rs.rank - 2], bins = rs[rs.rank - 1]
            voices[name] = Voice(name: name, bosToken: bos,
                                 cond: Tensor(try cond.floats(), shape: [cs.elementCount]),
                                 refMel: Tensor(try ref.floats(), shape: [frames, bins]))
        }
        return Speakers(file: path, voices: voices)
    }

    /// `bos_token` is an int leaf in the torch pickle (metadata) or an integer tensor of one element.
    private static func bosToken(source: any WeightSource, key: String,
                                 fail: (String?, String) -> OmniError) throws -> Int {
        if let text = source.metadata[key] {
            guard let v = Int(text), v >= 0 else { throw fail(key, "expected a non-negative integer, got '\(text)'") }
            return v
        }
        let t = try source.tensor(key)
        guard !t.dtype.isFloatingPoint, t.elementCount == 1, let v = try t.int64s().first, v >= 0 else {
            throw fail(key, "expected one non-negative integer, got \(t.shape) \(t.dtype)")
        }
        return Int(v)
    }

    /// The voice called `name`; an unknown name is an error listing the known ones.
    public func voice(named name: String) throws -> Voice {
        guard let v = voices[name] else {
            throw OmniError.invalidArgument(name: "speaker", expected: "one of " + names.joined(separator: ", ")
                                            + " (from \(URL(fileURLWithPath: file).lastPathComponent))", actual: "'\(name)'")
        }
        return v
    }
}
