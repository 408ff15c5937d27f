// libFuzzer target: arbitrary bytes as the media the command line reads (see Fuzz/README-media.md): decoded as a
// WAV file and as a PPM/PGM image; a decoded WAV is also resampled to 16 kHz (rates with a small ratio) and, when
// short, turned into Whisper features. Any input may throw an `OmniError`; none may crash, hang or read outside it.
import Foundation
import OmniCore
import MediaBasic
import Qwen25Omni

/// `OMNI_FUZZ_VERBOSE=1` prints what each input decoded as.
let verbose = ProcessInfo.processInfo.environment["OMNI_FUZZ_VERBOSE"] == "1"
let features = WhisperFeatureExtractor(nSamples: 1600)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMedia(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    if let wav = try? WAVFile(data: bytes, path: "fuzz.wav") {
        if verbose { print("wav", wav.sampleRate, wav.channels, wav.samples.count) }
        precondition(wav.samples.allSatisfy { !$0.isFinite || abs($0) <= Float.greatestFiniteMagnitude }, "sample")
        if let r = try? Resampler(from: wav.sampleRate, to: 16000), wav.samples.count <= 4096 {
            let y = r(wav.samples)
            precondition(y.count == (wav.samples.count * r.up + r.down - 1) / r.down, "resampled length")
        }
        if wav.samples.count <= 4096, wav.samples.allSatisfy({ $0.isFinite }) { _ = try? features([wav.samples]) }
    }
    if let img = try? PPMFile.decode([UInt8](bytes), path: "fuzz.ppm") {
        if verbose { print("ppm", img.width, img.height) }
        precondition(img.pixels.count == img.width * img.height * 3, "pixels")
    }
    return 0
}
