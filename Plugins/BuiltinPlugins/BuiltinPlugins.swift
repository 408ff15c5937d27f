import DTypeStandard
import FormatGGUF
import FormatZstd
import OmniCore

/// The one explicit list of built-in plugins.
public enum BuiltinPlugins {
    /// A registry with every built-in plugin, in preference order.
    public static func registry() -> PluginRegistry {
        var r = PluginRegistry()
        r.register(StandardConverter())
        r.register(BlockQuantConverter())
        r.register(GGUFFormat())
        r.register(ZstdFormat())
        return r
    }
}
