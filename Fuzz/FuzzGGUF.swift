// libFuzzer target: arbitrary bytes as a GGUF file (see Fuzz/README.md for the build command).
// Any input may throw a typed error; none may crash, hang or touch memory outside the file.
import Foundation
import FormatGGUF
import OmniCore

let path = "/dev/shm/omni-fuzz-gguf-\(getpid()).gguf"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    guard let src = try? GGUFSource(path: path) else { return 0 }
    _ = src.metadata.count
    var sum: UInt8 = 0
    for name in src.names {
        guard let t = try? src.tensor(name) else { continue }
        let bytes = UnsafeRawBufferPointer(start: t.rawPointer, count: t.byteCount)
        for b in bytes { sum &+= b } // touch every byte the reader claims is inside the file
    }
    return CInt(sum & 0)
}
