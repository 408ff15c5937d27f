// The PlacementStrategies plugin: `CPUPlacement` (cpu), `SequentialPlacement` (sequential),
// `BalancedPlacement` (balanced), `AutoPlacement` (auto), registered by name in BuiltinPlugins, and
// `ExplicitPlacement(map:)` for explicit device maps. All but the explicit map share `PlacementFill`.
