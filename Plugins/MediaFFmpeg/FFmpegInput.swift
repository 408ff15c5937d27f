// Compiled only with the FFmpeg trait, so that building every target without it needs no FFmpeg headers.
#if FFmpeg
import CFFmpeg
import Foundation
import OmniCore

/// One opened file: its format context and, once `openDecoder` ran, a decoder for one stream. Frees both on deinit.
final class FFmpegInput {
    let path: String
    var format: UnsafeMutablePointer<AVFormatContext>?
    var codec: UnsafeMutablePointer<AVCodecContext>?
    var streamIndex: Int32 = -1

    /// Opens `url` and reads the stream headers.
    init(_ url: URL) throws {
        path = url.path
        guard FileManager.default.isReadableFile(atPath: path) else { throw OmniError.io(path: path, reason: "cannot read: no such readable file") }
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        var r = avformat_open_input(&ctx, path, nil, nil)
        guard r >= 0, ctx != nil else { throw OmniError.media(file: path, reason: "not a media file FFmpeg recognizes (\(Self.text(r)))") }
        format = ctx
        r = avformat_find_stream_info(ctx, nil)
        guard r >= 0 else { throw OmniError.media(file: path, reason: "cannot read stream headers (\(Self.text(r)))") }
    }

    deinit {
        if codec != nil { avcodec_free_context(&codec) }
        if format != nil { avformat_close_input(&format) }
    }

    /// FFmpeg's message for error code `r`.
    static func text(_ r: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        av_strerror(r, &buf, buf.count)
        return String(cString: buf)
    }

    func fail(_ reason: String) -> OmniError { .media(file: path, reason: reason) }

    /// The stream of `type` FFmpeg picks as best, or nil.
    func bestStream(_ type: AVMediaType) -> Int32? {
        let i = av_find_best_stream(format, type, -1, -1, nil, 0)
        return i >= 0 ? i : nil
    }

    /// Stream `index` and its codec parameters; an error naming the file when FFmpeg has none there.
    func stream(_ index: Int32) throws -> (stream: UnsafeMutablePointer<AVStream>, par: AVCodecParameters) {
        guard let ctx = format, index >= 0, index < Int32(ctx.pointee.nb_streams), let streams = ctx.pointee.streams,
              let st = streams[Int(index)], let par = st.pointee.codecpar else {
            throw fail("no stream \(index)")
        }
        return (st, par.pointee)
    }

    /// Opens a decoder for stream `index`: single-threaded for audio; for video, `threads` decoder threads (frame
    /// and slice threading; nil: one per core this process may use, at most 16, FFmpeg's own cap).
    func openDecoder(stream index: Int32, threads: Int? = nil) throws {
        streamIndex = index
        let (st, par) = try stream(index)
        guard let dec = avcodec_find_decoder(par.codec_id) else {
            throw fail("no decoder for codec \(String(cString: avcodec_get_name(par.codec_id))) in this FFmpeg build")
        }
        guard let ctx = avcodec_alloc_context3(dec) else { throw fail("cannot allocate a decoder") }
        codec = ctx
        guard avcodec_parameters_to_context(ctx, st.pointee.codecpar) >= 0 else { throw fail("bad codec parameters") }
        ctx.pointee.pkt_timebase = st.pointee.time_base
        if par.codec_type == AVMEDIA_TYPE_VIDEO {
            ctx.pointee.thread_count = Int32(max(1, min(16, threads ?? ProcessInfo.processInfo.activeProcessorCount)))
            ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        }
        let r = avcodec_open2(codec, dec, nil)
        guard r >= 0 else { throw fail("cannot open the \(String(cString: dec.pointee.name)) decoder (\(Self.text(r)))") }
    }

    /// Feeds packets of the open stream and hands each decoded frame to `body` until it returns false or the
    /// stream ends (then the decoder is drained). `beforeSending` sees each packet of the stream just before the
    /// decoder gets it (to set `skip_frame` for it). Corrupt packets are errors naming the file.
    func decodeFrames(beforeSending: (UnsafeMutablePointer<AVPacket>) -> Void = { _ in },
                      _ body: (UnsafeMutablePointer<AVFrame>) throws -> Bool) throws {
        guard let pkt = av_packet_alloc() else { throw fail("cannot allocate a packet") }
        var pktVar: UnsafeMutablePointer<AVPacket>? = pkt
        defer { av_packet_free(&pktVar) }
        guard let frame = av_frame_alloc() else { throw fail("cannot allocate a frame") }
        var frameVar: UnsafeMutablePointer<AVFrame>? = frame
        defer { av_frame_free(&frameVar) }
        let eagain = omni_averror_eagain(), eof = omni_averror_eof()
        /// Receives every frame ready; false when `body` asked to stop.
        func drain() throws -> Bool {
            while true {
                let r = avcodec_receive_frame(codec, frame)
                if r == eagain || r == eof { return true }
                guard r >= 0 else { throw fail("decoding failed (\(Self.text(r)))") }
                defer { av_frame_unref(frame) }
                if try !body(frame) { return false }
            }
        }
        while true {
            let r = av_read_frame(format, pkt)
            if r < 0 {
                guard r == eof else { throw fail("reading failed (\(Self.text(r)))") }
                break
            }
            defer { av_packet_unref(pkt) }
            guard pkt.pointee.stream_index == streamIndex else { continue }
            beforeSending(pkt)
            let s = avcodec_send_packet(codec, pkt)
            guard s >= 0 || s == eagain else { throw fail("corrupt data (\(Self.text(s)))") }
            if try !drain() { return }
        }
        avcodec_send_packet(codec, nil)
        _ = try drain()
    }
}
#endif
