// libFuzzer target: arbitrary bytes as a media file for the FFmpeg plugin (see Fuzz/README-media.md). Each input is
// written to /dev/shm and decoded as an image, as audio (to 16 kHz) and as a video (header, then three frames),
// under small limits (1024 px sides, 256K pixels, 20 s of audio, 2000 frames). Any input may throw an `OmniError`;
// none may crash, hang, or allocate past the limits.
import Foundation
import MediaFFmpeg
import OmniCore

let verbose = ProcessInfo.processInfo.environment["OMNI_FUZZ_VERBOSE"] == "1"
let limits = MediaLimits(maxDimension: 1024, maxPixels: 1 << 18, maxAudioSeconds: 20, maxVideoFrames: 2000)
let decoder = FFmpegMediaDecoder()
let path = "/dev/shm/omni-fuzz-media-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMediaFFmpeg(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    let url = URL(fileURLWithPath: path)
    if let img = try? decoder.decodeImage(url, limits: limits) {
        if verbose { print("image", img.width, img.height) }
        precondition(img.width * img.height <= limits.maxPixels, "image over the limit")
    }
    if let a = try? decoder.decodeAudio(url, sampleRate: 16000, limits: limits) {
        if verbose { print("audio", a.channels, a.samples.count) }
        precondition(Double(a.samples.count) <= limits.maxAudioSeconds * 16000 + 16, "audio over the limit")
    }
    if let info = try? decoder.videoInfo(url, limits: limits) {
        if verbose { print("video", info) }
        precondition(info.frameCount >= 1 && info.frameCount <= limits.maxVideoFrames, "frame count")
        let idx = Array(Set([0, info.frameCount / 2, info.frameCount - 1])).sorted()
        if let frames = try? decoder.decodeVideoFrames(url, indices: idx, limits: limits) {
            precondition(frames.count == idx.count, "frame count returned")
        }
    }
    return 0
}
