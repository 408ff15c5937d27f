import Foundation
import OmniCore

/// `config.json` of a Qwen2.5-Omni checkpoint (`Qwen2_5OmniConfig`, OMNI-SPEC §1), or of a thinker-only
/// checkpoint (`model_type` `qwen2_5_omni_thinker`, thinker fields at the top level).
///
/// Both spellings load to equal values: the published one (`rope_scaling` + `rope_theta`, `torch_dtype`) and
/// transformers 5's (`rope_parameters`, `dtype`). Every key, known or not, stays in `raw`.
public struct OmniConfig: Sendable, Hashable {
    /// The thinker.
    public var thinker: ThinkerConfig
    /// The talker; nil for a thinker-only config, or when `talker_config` is absent and audio output is off.
    public var talker: TalkerConfig?
    /// DiT + BigVGAN; nil like `talker`.
    public var token2wav: Token2WavConfig?
    /// Whether talker and token2wav are built (false for a thinker-only config).
    public var enableAudioOutput: Bool
    /// `dtype` / `torch_dtype` of the checkpoint; nil when absent or `auto`.
    public var dtype: DType?
    /// `model_type` (`qwen2_5_omni` or `qwen2_5_omni_thinker`).
    public var modelType: String
    /// True when the config is a thinker alone (keys then lack the `thinker.` prefix).
    public var isThinkerOnly: Bool
    /// The whole parsed file, unknown keys included.
    public var raw: JSONValue

    /// Loads `config.json` at `url`.
    public static func load(from url: URL) throws -> OmniConfig {
        try parse(RegularFile.read(url.path, limit: 64 << 20), file: url.path)
    }

    /// Loads `config.json` from a model folder.
    public static func load(directory: URL) throws -> OmniConfig {
        try load(from: directory.appendingPathComponent("config.json"))
    }

    /// Parses config text; `file` names it in errors.
    public static func parse(_ data: Data, file: String = "config.json") throws -> OmniConfig {
        let raw = try JSONValue.parse(data, file: file)
        return try OmniConfig(raw: raw, file: file)
    }

    /// Reads a parsed config; `file` names it in errors.
    public init(raw: JSONValue, file: String = "config.json") throws {
        let r = try ConfigReader(file: file, path: "", value: raw)
        self.raw = raw
        let type = try r.optionalString("model_type")
        isThinkerOnly = type == "qwen2_5_omni_thinker" || (!r.has("thinker_config") && r.has("text_config"))
        modelType = type ?? (isThinkerOnly ? "qwen2_5_omni_thinker" : "qwen2_5_omni")
        if let t = type, !["qwen2_5_omni", "qwen2_5_omni_thinker"].contains(t) {
            throw r.error("model_type", expected: "\"qwen2_5_omni\" or \"qwen2_5_omni_thinker\"", actual: "\"\(t)\"")
        }
        dtype = nil
        if let (k, v) = r.value(["dtype", "torch_dtype"]) {
            guard case let .string(s) = v else { throw r.error(k, expected: "string", actual: v.summary) }
            if s != "auto" {
                guard let d = DType(userSpelling: s), d.isFloatingPoint else {
                    throw r.error(k, expected: "float32, float16, bfloat16 or auto", actual: "\"\(s)\"")
                }
                dtype = d
            }
        }
        if isThinkerOnly {
            thinker = try ThinkerConfig(r)
            enableAudioOutput = false
            talker = nil
            token2wav = nil
            return
        }
        thinker = try ThinkerConfig(r.object("thinker_config"))
        enableAudioOutput = try r.bool("enable_audio_output", default: true)
        let talkerReader: ConfigReader? =
            try enableAudioOutput ? r.object("talker_config") : r.optionalObject("talker_config")
        talker = try talkerReader.map(TalkerConfig.init)
        if let t = talker, let tr = talkerReader { try t.validate(against: thinker, tr) }
        let t2wReader: ConfigReader? =
            try enableAudioOutput ? r.object("token2wav_config") : r.optionalObject("token2wav_config")
        token2wav = try t2wReader.map(Token2WavConfig.init)
    }
}
