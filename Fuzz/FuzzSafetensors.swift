// libFuzzer target: arbitrary bytes as a safetensors file and as model.safetensors.index.json (see
// Fuzz/README-formats.md). Each input is tried both ways: written to /dev/shm as `input.safetensors` and
// opened alone (header parser), then written as the index of a folder that also holds a valid two-tensor
// shard `shard.safetensors` (index parser and the index/shard cross-checks).
// Any input may throw an `OmniError`; none may crash, hang or touch memory outside the file.
import Foundation
import FormatSafetensors
import OmniCore

let folder = "/dev/shm/omni-fuzz-safetensors-\(getpid())"
let single = URL(fileURLWithPath: "\(folder)/input.safetensors")
let index = URL(fileURLWithPath: "\(folder)/model.safetensors.index.json")
let format = SafetensorsFormat()
/// `OMNI_FUZZ_VERBOSE=1` prints what each input opened as (to check that seeds are valid).
let verbose = ProcessInfo.processInfo.environment["OMNI_FUZZ_VERBOSE"] == "1"

/// A valid shard: `a` f32 (2, 2) and `b` i8 (3).
let shard: [UInt8] = {
    var json = Array(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I8","shape":[3],"data_offsets":[16,19]}}"#.utf8)
    while json.count % 8 != 0 { json.append(0x20) }
    var out: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: json.count >> ($0 * 8)) }
    out += json
    out += (0..<19).map { UInt8($0) }
    return out
}()

let prepared: Bool = {
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    return FileManager.default.createFile(atPath: "\(folder)/shard.safetensors", contents: Data(shard))
}()

/// Opens `url`, reads the metadata and touches every byte of every tensor.
func exercise(_ url: URL) -> UInt8 {
    let src: any WeightSource
    do { src = try format.open(url) } catch {
        if verbose { print("\(url.lastPathComponent): \(error)") }
        return 0
    }
    if verbose { print("\(url.lastPathComponent): \(src.names) \(src.metadata)") }
    var sum = UInt8(truncatingIfNeeded: src.metadata.count)
    for name in src.names {
        _ = src.info(name)
        guard let t = try? src.tensor(name) else { continue }
        precondition(t.byteCount <= t.storage.byteCount - t.byteOffset, "\(name): tensor larger than its storage")
        let bytes = UnsafeRawBufferPointer(start: t.rawPointer, count: t.byteCount)
        for b in bytes { sum &+= b } // touch every byte the reader claims is inside the file
    }
    return sum
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    precondition(prepared, "cannot write \(folder)")
    let bytes = Data(bytes: data, count: size)
    var sum: UInt8 = 0
    if FileManager.default.createFile(atPath: single.path, contents: bytes) { sum &+= exercise(single) }
    try? FileManager.default.removeItem(at: single) // the index may name it only while it is a real file
    if FileManager.default.createFile(atPath: index.path, contents: bytes) { sum &+= exercise(URL(fileURLWithPath: folder)) }
    return CInt(sum & 0)
}
