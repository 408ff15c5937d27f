// Compiled only with the FFmpeg trait, so that building every target without it needs no FFmpeg headers.
#if FFmpeg
import CFFmpeg
import Foundation
import OmniCore

/// The first audio stream of a file, decoded, downmixed to mono (the mean of the channels, as librosa's
/// `mono=True`; for stereo the same 0.5/0.5 matrix FFmpeg's `-ac 1` uses) and resampled by libswresample.
enum FFmpegAudio {
    static func decode(_ url: URL, sampleRate: Int, limits: MediaLimits) throws -> DecodedAudio {
        guard (1000...1_000_000).contains(sampleRate) else {
            throw OmniError.invalidArgument(name: "sample rate", expected: "1 kHz … 1 MHz", actual: "\(sampleRate)")
        }
        let input = try FFmpegInput(url)
        guard let s = input.bestStream(AVMEDIA_TYPE_AUDIO) else { throw input.fail("no audio stream") }
        let (stream, par) = try input.stream(s)
        let channels = Int(par.ch_layout.nb_channels), rate = Int(par.sample_rate)
        guard (1...64).contains(channels), (1000...1_000_000).contains(rate) else {
            throw input.fail("\(channels) channels at \(rate) Hz (1…64 channels, 1 kHz … 1 MHz expected)")
        }
        // The header's duration, when it has one, is checked before decoding; the decoded length always is.
        let maxOut = Int(limits.maxAudioSeconds * Double(sampleRate))
        let seconds = Self.headerSeconds(input, stream)
        if let seconds, seconds > limits.maxAudioSeconds {
            throw input.fail("audio of \(Int(seconds)) s, longer than the limit of \(Int(limits.maxAudioSeconds)) s")
        }
        try input.openDecoder(stream: s)
        var swr: OpaquePointer?
        defer { swr_free(&swr) }
        var out: [Float] = []
        out.reserveCapacity(min(maxOut, Int((seconds ?? 30) * Double(sampleRate)) + 4096))
        var inChannels = 0
        func convert(_ f: UnsafeMutablePointer<AVFrame>?) throws {
            let inCount = Int32(f?.pointee.nb_samples ?? 0)
            let room = swr_get_out_samples(swr, inCount)
            guard room >= 0 else { throw input.fail("resampler failed") }
            var chunk = [Float](repeating: 0, count: Int(room) + 16)
            let n = try chunk.withUnsafeMutableBytes { buf -> Int32 in
                var o: UnsafeMutablePointer<UInt8>? = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let r: Int32
                if let f, let planes = f.pointee.extended_data {
                    let inPlanes = UnsafeMutableRawPointer(planes).assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
                    r = swr_convert(swr, &o, room + 16, inPlanes, inCount)
                } else {
                    r = swr_convert(swr, &o, room + 16, nil, 0)
                }
                guard r >= 0 else { throw input.fail("resampling failed (\(FFmpegInput.text(r)))") }
                return r
            }
            out += chunk.prefix(Int(n))
            guard out.count <= maxOut else {
                throw input.fail("audio longer than the limit of \(Int(limits.maxAudioSeconds)) s")
            }
        }
        try input.decodeFrames { f in
            if swr == nil {
                var layout = AVChannelLayout()
                if f.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f.pointee.ch_layout.nb_channels == 0 {
                    av_channel_layout_default(&layout, max(1, f.pointee.ch_layout.nb_channels))
                } else {
                    guard av_channel_layout_copy(&layout, &f.pointee.ch_layout) >= 0 else { throw input.fail("bad channel layout") }
                }
                defer { av_channel_layout_uninit(&layout) }
                inChannels = Int(layout.nb_channels)
                guard (1...64).contains(inChannels) else { throw input.fail("\(inChannels) channels (1…64 expected)") }
                var mono = AVChannelLayout()
                av_channel_layout_default(&mono, 1)
                var ctx: OpaquePointer?
                guard swr_alloc_set_opts2(&ctx, &mono, AV_SAMPLE_FMT_FLT, Int32(sampleRate), &layout,
                                          AVSampleFormat(rawValue: f.pointee.format), f.pointee.sample_rate, 0, nil) >= 0, ctx != nil else {
                    throw input.fail("cannot set up the resampler")
                }
                swr = ctx
                if inChannels > 1 {
                    let m = [Double](repeating: 1 / Double(inChannels), count: inChannels)
                    guard swr_set_matrix(ctx, m, Int32(inChannels)) >= 0 else { throw input.fail("cannot set the downmix matrix") }
                }
                let r = swr_init(ctx)
                guard r >= 0 else { throw input.fail("cannot start the resampler (\(FFmpegInput.text(r)))") }
            }
            guard Int(f.pointee.ch_layout.nb_channels) == inChannels else {
                throw input.fail("the channel count changes mid-stream (\(inChannels) → \(f.pointee.ch_layout.nb_channels))")
            }
            try convert(f)
            return true
        }
        guard swr != nil else { throw input.fail("no decodable audio (truncated?)") }
        try convert(nil)
        guard !out.isEmpty else { throw input.fail("no audio samples") }
        return DecodedAudio(samples: out, sampleRate: sampleRate, channels: inChannels)
    }

    /// The stream's duration in seconds from its header (or the container's), when known.
    static func headerSeconds(_ input: FFmpegInput, _ stream: UnsafeMutablePointer<AVStream>) -> Double? {
        let tb = stream.pointee.time_base
        if stream.pointee.duration > 0, tb.den > 0 { return Double(stream.pointee.duration) * Double(tb.num) / Double(tb.den) }
        guard let d = input.format?.pointee.duration else { return nil }
        return d > 0 ? Double(d) / Double(AV_TIME_BASE) : nil
    }
}
#endif
