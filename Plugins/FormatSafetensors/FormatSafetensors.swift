import OmniCore
// The FormatSafetensors plugin: not implemented yet (see the open issues).
