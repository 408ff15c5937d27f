import OmniCore
// The FormatGGUF plugin: not implemented yet (see the open issues).
