import DTypeStandard
import OmniCore
import PlacementStrategies

/// The one explicit list of built-in plugins.
public enum BuiltinPlugins {
    /// A registry with every built-in plugin, in preference order.
    public static func registry() -> PluginRegistry {
        var r = PluginRegistry()
        r.register(StandardConverter())
        r.register(CPUPlacement())
        r.register(SequentialPlacement())
        r.register(BalancedPlacement())
        r.register(AutoPlacement())
        return r
    }
}
