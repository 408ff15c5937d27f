import AttentionEager
import AttentionFlash2
import DeviceCUDA
import DTypeStandard
import FormatGGUF
import FormatSafetensors
import FormatTorchPickle
import FormatZstd
import MediaBasic
#if FFmpeg
import MediaFFmpeg
#endif
import OmniCore
import PlacementStrategies

/// The one explicit list of built-in plugins.
public enum BuiltinPlugins {
    /// A registry with every built-in plugin, in preference order.
    public static func registry() -> PluginRegistry {
        var r = PluginRegistry()
        // Weight formats (the first that recognizes a path opens it).
        r.register(SafetensorsFormat())
        r.register(GGUFFormat())
        r.register(ZstdFormat())
        r.register(TorchPickleFormat())
        // DType converters.
        r.register(StandardConverter())
        r.register(BlockQuantConverter())
        r.register(KQuantConverter())
        // Attention backends (default chain order).
        r.register(FlashAttention2())
        r.register(EagerAttention())
        // Placement strategies.
        r.register(AutoPlacement())
        r.register(CPUPlacement())
        r.register(SequentialPlacement())
        r.register(BalancedPlacement())
        // Media decoders (the first that decodes the kind and recognizes the file reads it).
        #if FFmpeg
        r.register(FFmpegMediaDecoder())
        #endif
        r.register(BasicMediaDecoder())
        // Compute devices beyond the CPU (each probes at run time and says why it is unavailable).
        r.register(CUDAPlugin())
        return r
    }

    /// `registry()` with its FFmpeg media decoder set to decode video with `threads` decoder threads (nil: one
    /// per core), when `skipUnsampledFrames` letting FFmpeg drop unreferenced frames between sampled ones, and
    /// when `pipelined` decoding on a second thread while sampled frames are converted (both the default), and
    /// with `accurateColors` converting YUV frames to RGB with libswscale's accurate bicubic path
    /// (`FFmpegRGBConversion.accurate`; default off: as torchcodec does, the reference's pixels), seeking only past more than `minSeekGap` frames (nil: the default).
    /// Without the FFmpeg trait, `registry()` unchanged.
    public static func registry(videoDecoderThreads threads: Int?, skipUnsampledFrames: Bool, pipelined: Bool,
                                accurateColors: Bool = false, minSeekGap: Int? = nil) -> PluginRegistry {
        var r = registry()
        #if FFmpeg
        r.register(FFmpegMediaDecoder(video: FFmpegVideoOptions(threads: threads, skipUnsampledFrames: skipUnsampledFrames,
                                                                pipelined: pipelined,
                                                                rgbConversion: accurateColors ? .accurate : .torchcodec,
                                                                minSeekGap: minSeekGap ?? FFmpegVideoOptions.defaultMinSeekGap)))
        #endif
        return r
    }

    /// The built-in strategy for an explicit device map (`device_map={prefix: device}`).
    public static func explicitPlacement(map: [String: DeviceID]) -> any PlacementStrategy {
        ExplicitPlacement(map: map)
    }

    /// Parses `prefix=device,…` (`thinker=cpu,talker=disk`) into a device map; nil when malformed.
    public static func parseDeviceMap(_ text: String) -> [String: DeviceID]? { ExplicitPlacement(parsing: text)?.map }
}
