import OmniCore
// The FormatTorchPickle plugin: not implemented yet (see the open issues).
