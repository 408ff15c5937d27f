import AttentionEager
import AttentionFlash2
import DTypeStandard
import FormatSafetensors
import OmniCore

/// The one explicit list of built-in plugins.
public enum BuiltinPlugins {
    /// A registry with every built-in plugin, in preference order.
    public static func registry() -> PluginRegistry {
        var r = PluginRegistry()
        r.register(SafetensorsFormat())
        r.register(StandardConverter())
        r.register(FlashAttention2())
        r.register(EagerAttention())
        return r
    }
}
