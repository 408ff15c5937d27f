import BuiltinPlugins
import OmniCore

// Sample CustomAttention: filled in as the loader and executor land; for now it lists the registered plugins.
let registry = BuiltinPlugins.registry()
print("CustomAttention: \(registry.converters.count) converter(s) registered")
