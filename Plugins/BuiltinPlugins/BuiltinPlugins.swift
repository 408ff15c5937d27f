import DTypeStandard
import FormatSafetensors
import FormatTorchPickle
import OmniCore

/// The one explicit list of built-in plugins.
public enum BuiltinPlugins {
    /// A registry with every built-in plugin, in preference order.
    public static func registry() -> PluginRegistry {
        var r = PluginRegistry()
        r.register(StandardConverter())
        r.register(SafetensorsFormat())
        r.register(TorchPickleFormat())
        return r
    }
}
