import BuiltinPlugins
import OmniCore

// Sample ConvertWeights: filled in as the loader and executor land; for now it lists the registered plugins.
let registry = BuiltinPlugins.registry()
print("ConvertWeights: \(registry.converters.count) converter(s) registered")
