import BuiltinPlugins
import OmniCore

/// The built-in registry, as the CLI composes it.
enum BuiltinPluginsRegistry {
    static func make() -> PluginRegistry { BuiltinPlugins.registry() }
}
