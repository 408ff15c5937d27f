/// Hugging Face ↔ GGUF tensor names for the Qwen2 text decoder (the thinker's `model.*` and `lm_head`),
/// as llama.cpp's `LLM_ARCH_QWEN2` tensor table spells them. Names outside the table stay as they are.
public enum GGUFNames {
    /// `thinker.model.layers.N.<suffix>` → `blk.N.<gguf suffix>`.
    static let layerSuffixes: [(hf: String, gguf: String)] = [
        ("input_layernorm.weight", "attn_norm.weight"),
        ("self_attn.q_proj.weight", "attn_q.weight"), ("self_attn.q_proj.bias", "attn_q.bias"),
        ("self_attn.k_proj.weight", "attn_k.weight"), ("self_attn.k_proj.bias", "attn_k.bias"),
        ("self_attn.v_proj.weight", "attn_v.weight"), ("self_attn.v_proj.bias", "attn_v.bias"),
        ("self_attn.o_proj.weight", "attn_output.weight"),
        ("post_attention_layernorm.weight", "ffn_norm.weight"),
        ("mlp.gate_proj.weight", "ffn_gate.weight"),
        ("mlp.up_proj.weight", "ffn_up.weight"),
        ("mlp.down_proj.weight", "ffn_down.weight"),
    ]
    /// Whole-name entries.
    static let globals: [(hf: String, gguf: String)] = [
        ("thinker.model.embed_tokens.weight", "token_embd.weight"),
        ("thinker.model.norm.weight", "output_norm.weight"),
        ("thinker.lm_head.weight", "output.weight"),
    ]
    static let hfLayerPrefix = "thinker.model.layers."
    static let ggufLayerPrefix = "blk."

    /// The GGUF name for a Hugging Face checkpoint name (unchanged when the table has none).
    public static func gguf(forHF name: String) -> String {
        if let g = globals.first(where: { $0.hf == name }) { return g.gguf }
        if let (layer, rest) = split(name, prefix: hfLayerPrefix),
           let s = layerSuffixes.first(where: { $0.hf == rest }) {
            return ggufLayerPrefix + layer + "." + s.gguf
        }
        return name
    }

    /// The Hugging Face name for a GGUF tensor name (unchanged when the table has none).
    public static func hf(forGGUF name: String) -> String {
        if let g = globals.first(where: { $0.gguf == name }) { return g.hf }
        if let (layer, rest) = split(name, prefix: ggufLayerPrefix),
           let s = layerSuffixes.first(where: { $0.gguf == rest }) {
            return hfLayerPrefix + layer + "." + s.hf
        }
        return name
    }

    /// `prefix` + decimal layer number + "." + rest, or nil.
    private static func split(_ name: String, prefix: String) -> (String, String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let tail = name.dropFirst(prefix.count)
        guard let dot = tail.firstIndex(of: "."), dot > tail.startIndex else { return nil }
        let layer = tail[..<dot]
        guard layer.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return (String(layer), String(tail[tail.index(after: dot)...]))
    }
}
