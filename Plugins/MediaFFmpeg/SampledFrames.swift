// Compiled only with the FFmpeg trait, so that building every target without it needs no FFmpeg headers.
#if FFmpeg
import CFFmpeg
import Foundation
import OmniCore

/// The hand-over between the thread that decodes a video and the one that converts its sampled frames to RGB and
/// hands them out (`FFmpegVideo.frames(at:_:)`).
enum SampledFrames {
    /// Sampled frames decoded but not yet converted, at most; each holds one decoder picture (1080p yuv420p: 3 MiB).
    static let depth = 2

    /// What the decoder hands over.
    enum Item {
        /// A decoded frame (a reference of its own, freed by whoever takes it) for sampled positions `positions`.
        case frame(UnsafeMutablePointer<AVFrame>, positions: Range<Int>)
        /// The stream ended early: the last frame again for `positions`.
        case repeatLast(Range<Int>)
        case end
        case failure(Error)
    }

    /// A bounded queue from the decoding thread to the converting one.
    final class Queue {
        private let cond = NSCondition()
        private var items: [Item] = []
        private var cancelled = false

        /// Appends `item`, waiting while `depth` items wait; false (and the item's frame freed) once cancelled.
        func push(_ item: Item) -> Bool {
            cond.lock()
            defer { cond.unlock() }
            while items.count >= SampledFrames.depth && !cancelled { cond.wait() }
            guard !cancelled else { Self.free(item); return false }
            items.append(item)
            cond.broadcast()
            return true
        }

        /// The first item, waiting for one.
        func pop() -> Item {
            cond.lock()
            defer { cond.unlock() }
            while items.isEmpty { cond.wait() }
            cond.broadcast()
            return items.removeFirst()
        }

        /// Refuses further items and frees those waiting (the consumer stopped on an error).
        func cancel() {
            cond.lock()
            defer { cond.unlock() }
            cancelled = true
            items.forEach(Self.free)
            items = []
            cond.broadcast()
        }

        private static func free(_ item: Item) {
            if case .frame(let f, _) = item { var p: UnsafeMutablePointer<AVFrame>? = f; av_frame_free(&p) }
        }
    }

    /// Converts handed-over frames to RGB (one libswscale context for the stream) and passes them to the consumer.
    struct Consumer {
        let path: String
        let limits: MediaLimits
        let conversion: FFmpegRGBConversion
        private var scaler: OpaquePointer?
        private var last: RGBImage?

        init(path: String, limits: MediaLimits, conversion: FFmpegRGBConversion) {
            self.path = path
            self.limits = limits
            self.conversion = conversion
        }

        /// Hands `item` out through `body`; false at the end of the stream. Rethrows a decoding failure.
        mutating func take(_ item: Item, _ body: (Int, RGBImage) throws -> Void) throws -> Bool {
            switch item {
            case .frame(let f, let positions):
                var p: UnsafeMutablePointer<AVFrame>? = f
                defer { av_frame_free(&p) }
                try limits.check(width: Int(f.pointee.width), height: Int(f.pointee.height), file: path)
                let image = try FramePixels.rgb(f, path: path, scaler: &scaler, conversion: conversion)
                last = image
                for k in positions { try body(k, image) }
                return true
            case .repeatLast(let positions):
                guard let last else { throw OmniError.media(file: path, reason: "no decodable frame at or after position \(positions.lowerBound)") }
                for k in positions { try body(k, last) }
                return true
            case .end:
                return false
            case .failure(let error):
                throw error
            }
        }

        /// Frees the conversion context.
        mutating func close() {
            sws_freeContext(scaler)
            scaler = nil
        }
    }
}
#endif
