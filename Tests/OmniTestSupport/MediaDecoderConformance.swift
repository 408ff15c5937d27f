// XCTest helpers: compiled only where XCTest is (the cuda-check program links this target without it).
#if canImport(XCTest)
import Foundation
import OmniCore
import XCTest

/// One conformance suite for every `MediaDecoder`: what a decoder promises whatever its formats.
public enum MediaDecoderConformance {
    /// `samples`: one readable file per kind the decoder claims. Checks that capabilities and `canOpen` agree,
    /// that decodes have the promised shape, and that missing, empty, truncated and foreign files fail with an
    /// `OmniError` naming the file (never a crash).
    public static func check(_ decoder: any MediaDecoder, samples: [MediaKind: URL], scratch: URL,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let caps = decoder.capabilities
        XCTAssertFalse(decoder.name.isEmpty, file: file, line: line)
        XCTAssertFalse(caps.formats.isEmpty, "\(decoder.name): formats", file: file, line: line)
        let limits = MediaLimits()
        for kind in MediaKind.allCases {
            guard let url = samples[kind] else {
                XCTAssertFalse(caps.kinds.contains(kind), "\(decoder.name) claims \(kind) but the test gave no sample", file: file, line: line)
                continue
            }
            XCTAssertTrue(caps.kinds.contains(kind), "\(decoder.name): \(kind) sample but no capability", file: file, line: line)
            XCTAssertTrue(decoder.canOpen(url, as: kind), "\(decoder.name) cannot open its \(kind) sample", file: file, line: line)
            switch kind {
            case .image:
                let img = try decoder.decodeImage(url, limits: limits)
                XCTAssertEqual(img.pixels.count, img.width * img.height * 3, file: file, line: line)
                // The limits are checked: a budget below the image's size is an error naming the file.
                assertMediaError(try decoder.decodeImage(url, limits: MediaLimits(maxPixels: img.width * img.height - 1)), url.path, file: file, line: line)
            case .audio:
                let a = try decoder.decodeAudio(url, sampleRate: 16000, limits: limits)
                XCTAssertFalse(a.samples.isEmpty, file: file, line: line)
                XCTAssertTrue(a.samples.allSatisfy { $0.isFinite && abs($0) <= 1.5 }, file: file, line: line)
                XCTAssertGreaterThanOrEqual(a.channels, 1, file: file, line: line)
                if caps.resamples { XCTAssertEqual(a.sampleRate, 16000, file: file, line: line) }
                let seconds = Double(a.samples.count) / Double(a.sampleRate)
                assertMediaError(try decoder.decodeAudio(url, sampleRate: 16000, limits: MediaLimits(maxAudioSeconds: seconds / 2)), url.path,
                                 file: file, line: line)
            case .video:
                let info = try decoder.videoInfo(url, limits: limits)
                XCTAssertGreaterThan(info.frameCount, 0, file: file, line: line)
                let idx = [0, info.frameCount / 2, info.frameCount - 1]
                let frames = try decoder.decodeVideoFrames(url, indices: idx, limits: limits)
                XCTAssertEqual(frames.count, 3, file: file, line: line)
                XCTAssertTrue(frames.allSatisfy { $0.width == info.width && $0.height == info.height }, file: file, line: line)
            }
            // Hostile variants of the sample: missing, empty, truncated to 40%, and a text file with its name.
            let bytes = try Data(contentsOf: url)
            let ext = url.pathExtension
            let variants: [(String, Data?)] = [("missing", nil), ("empty", Data()), ("truncated", bytes.prefix(bytes.count * 2 / 5)),
                                               ("text", Data("hello, not media\n".utf8))]
            for (tag, data) in variants {
                let path = scratch.appendingPathComponent("\(decoder.name)-\(kind)-\(tag).\(ext)")
                try? FileManager.default.removeItem(at: path)
                if let data { try data.write(to: path) }
                switch kind {
                case .image: assertFailsOrDecodes(try decoder.decodeImage(path, limits: limits), path.path, tag, file: file, line: line)
                case .audio: assertFailsOrDecodes(try decoder.decodeAudio(path, sampleRate: 16000, limits: limits), path.path, tag, file: file, line: line)
                case .video: assertFailsOrDecodes(try decoder.videoInfo(path, limits: limits), path.path, tag, file: file, line: line)
                }
            }
        }
    }

    /// Missing, empty and text files must fail naming the file; a truncated one may decode what is there.
    static func assertFailsOrDecodes<T>(_ body: @autoclosure () throws -> T, _ path: String, _ tag: String,
                                        file: StaticString, line: UInt) {
        do {
            _ = try body()
            XCTAssertEqual(tag, "truncated", "\(path) (\(tag)) decoded", file: file, line: line)
        } catch let e as OmniError {
            XCTAssertTrue("\(e)".contains(path), "\(tag): error does not name the file: \(e)", file: file, line: line)
        } catch {
            XCTFail("\(tag): not an OmniError: \(error)", file: file, line: line)
        }
    }
}

/// Asserts that `body` throws an `OmniError` whose message names `path`.
public func assertMediaError<T>(_ body: @autoclosure () throws -> T, _ path: String, contains: String? = nil,
                                file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("\(path): decoded, an error was expected", file: file, line: line)
    } catch let e as OmniError {
        XCTAssertTrue("\(e)".contains(path), "error does not name \(path): \(e)", file: file, line: line)
        if let contains { XCTAssertTrue("\(e)".contains(contains), "error lacks '\(contains)': \(e)", file: file, line: line) }
    } catch {
        XCTFail("not an OmniError: \(error)", file: file, line: line)
    }
}

/// The in-memory `MediaDecoder` double: serves images, audio and videos registered by path, with no file
/// format at all (for testing what sits above the seam without any decoding library).
public struct InMemoryMediaDecoder: MediaDecoder {
    public var images: [String: RGBImage] = [:]
    public var audios: [String: DecodedAudio] = [:]
    /// Every frame of each video, and its rate.
    public var videos: [String: (frames: [RGBImage], fps: Double)] = [:]
    public var resamples = false

    public init() {}

    public var name: String { "in-memory" }
    public var capabilities: MediaDecoderCapabilities {
        MediaDecoderCapabilities(kinds: [.image, .audio, .video], formats: ["memory"], resamples: resamples, seeks: true)
    }
    public func canOpen(_ url: URL, as kind: MediaKind) -> Bool {
        switch kind {
        case .image: return images[url.path] != nil
        case .audio: return audios[url.path] != nil
        case .video: return videos[url.path] != nil
        }
    }
    private func missing(_ url: URL) -> OmniError { .media(file: url.path, reason: "not in memory") }
    public func decodeImage(_ url: URL, limits: MediaLimits) throws -> RGBImage {
        guard let i = images[url.path] else { throw missing(url) }
        try limits.check(width: i.width, height: i.height, file: url.path)
        return i
    }
    public func decodeAudio(_ url: URL, sampleRate: Int, limits: MediaLimits) throws -> DecodedAudio {
        guard let a = audios[url.path] else { throw missing(url) }
        guard Double(a.samples.count) <= limits.maxAudioSeconds * Double(a.sampleRate) else {
            throw OmniError.media(file: url.path, reason: "longer than the limit")
        }
        return a
    }
    public func videoInfo(_ url: URL, limits: MediaLimits) throws -> VideoInfo {
        guard let v = videos[url.path], let f = v.frames.first else { throw missing(url) }
        return VideoInfo(width: f.width, height: f.height, frameCount: v.frames.count, fps: v.fps, hasAudio: audios[url.path] != nil)
    }
    public func forEachVideoFrame(_ url: URL, indices: [Int], limits: MediaLimits, _ body: (Int, RGBImage) throws -> Void) throws {
        guard let v = videos[url.path] else { throw missing(url) }
        for (k, i) in indices.enumerated() {
            guard v.frames.indices.contains(i) else { throw OmniError.media(file: url.path, reason: "no frame \(i)") }
            try body(k, v.frames[i])
        }
    }
}

/// The ffmpeg command-line tool, for making test media and references (never used by the library).
public enum FFmpegCLI {
    /// The path of `ffmpeg`, or nil when it is not installed.
    public static let path: String? = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs ffmpeg with `args` (quiet, overwriting); returns stdout. Throws when it fails.
    @discardableResult
    public static func run(_ args: [String], stdin: Data? = nil) throws -> Data {
        guard let path else { throw XCTSkip("the ffmpeg CLI is not installed (scripts/setup.sh installs it)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-hide_banner", "-loglevel", "error", "-nostdin", "-y"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: "ffmpeg", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: String(decoding: e, as: UTF8.self)])
        }
        return data
    }

    /// The reference decode: `ffmpeg -i path -ar rate -f f32le -` (all channels), then the mean of the channels
    /// (librosa's mono). FFmpeg's own `-ac 1` is not the mean: with float samples it sums stereo at 1/√2 each.
    public static func f32le(_ path: String, channels: Int, rate: Int = 16000) throws -> [Float] {
        let d = try run(["-i", path, "-ar", "\(rate)", "-f", "f32le", "-"])
        let all = d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return stride(from: 0, to: all.count - channels + 1, by: channels).map { i in
            var s: Float = 0
            for c in 0..<channels { s += all[i + c] }
            return s / Float(channels)
        }
    }
}
#endif
