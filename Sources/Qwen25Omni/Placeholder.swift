import OmniCore
