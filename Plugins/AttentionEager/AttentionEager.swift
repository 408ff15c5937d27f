import OmniCore
// The AttentionEager plugin: not implemented yet (see the open issues).
