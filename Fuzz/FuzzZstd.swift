// libFuzzer target: arbitrary bytes as an .omz container (see Fuzz/README.md for the build command).
// Any input may throw a typed error; none may crash, hang or touch memory outside the file.
import Foundation
import FormatZstd
import OmniCore

let path = "/dev/shm/omni-fuzz-omz-\(getpid()).omz"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZstd(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Data(bytes: data, count: size)
    // Fix up the index checksum so mutations reach the JSON index validation instead of stopping at
    // "index checksum mismatch" (inputs whose header points outside the file stay as they are).
    if size >= 32 {
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        let (off, len) = (u64(8), u64(16))
        if off >= 32, off <= UInt64(size), len <= UInt64(size) - off {
            let h = bytes.subdata(in: Int(off)..<Int(off + len)).withUnsafeBytes { XXH64.hash($0) }
            for i in 0..<8 { bytes[24 + i] = UInt8(truncatingIfNeeded: h >> (8 * UInt64(i))) }
        }
    }
    guard FileManager.default.createFile(atPath: path, contents: bytes) else { return 0 }
    guard let src = try? ZstdSource(path: path, threads: 2) else { return 0 }
    for name in src.names {
        // Cap what one input may make us allocate (a hostile index can claim huge shapes).
        guard let n = src.byteCount(name), n <= 64 << 20 else { continue }
        _ = try? src.tensor(name)
    }
    return 0
}
