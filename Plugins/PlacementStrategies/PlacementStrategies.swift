import OmniCore
// The PlacementStrategies plugin: not implemented yet (see the open issues).
