import OmniCore
// The AttentionFlash2 plugin: not implemented yet (see the open issues).
