import BuiltinPlugins
import OmniCore

// Sample EmbedLoader: filled in as the loader and executor land; for now it lists the registered plugins.
let registry = BuiltinPlugins.registry()
print("EmbedLoader: \(registry.converters.count) converter(s) registered")
