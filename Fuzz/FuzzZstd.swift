// libFuzzer target: arbitrary bytes as an .omz container (see Fuzz/README.md for the build command).
// Any input may throw a typed error; none may crash, hang or touch memory outside the file.
import Foundation
import FormatZstd
import OmniCore

let path = "/dev/shm/omni-fuzz-omz-\(getpid()).omz"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZstd(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { return 0 }
    guard let src = try? ZstdSource(path: path, threads: 2) else { return 0 }
    for name in src.names {
        // Cap what one input may make us allocate (a hostile index can claim huge shapes).
        guard let n = src.byteCount(name), n <= 64 << 20 else { continue }
        _ = try? src.tensor(name)
    }
    return 0
}
