import OmniCore
// The FormatZstd plugin: not implemented yet (see the open issues).
