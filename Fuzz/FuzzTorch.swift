// libFuzzer target: arbitrary bytes as a PyTorch zip checkpoint (see Fuzz/README-formats.md): written to
// /dev/shm as a `.pt` file, opened through the zip reader and the restricted unpickler, every tensor read
// (every element a strided view reaches) and all metadata rendered.
// Any input may throw an `OmniError`; none may crash, hang or touch memory outside the file.
import Foundation
import FormatTorchPickle
import OmniCore

let url = URL(fileURLWithPath: "/dev/shm/omni-fuzz-torch-\(getpid()).pt")
let format = TorchPickleFormat()
/// `OMNI_FUZZ_VERBOSE=1` prints what each input opened as (to check that seeds are valid).
let verbose = ProcessInfo.processInfo.environment["OMNI_FUZZ_VERBOSE"] == "1"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorch(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: url.path, contents: Data(bytes: data, count: size)) else { return 0 }
    let src: any WeightSource
    do { src = try format.open(url) } catch {
        if verbose { print(error) }
        return 0
    }
    if verbose { print(src.names, src.metadata) }
    var sum: UInt8 = 0
    for (k, v) in src.metadata { sum &+= UInt8(truncatingIfNeeded: k.utf8.count &+ v.utf8.count) }
    for name in src.names {
        _ = src.info(name)
        guard let t = try? src.tensor(name) else { continue }
        let dims = t.shape.dims
        precondition(t.strides.count == dims.count, "\(name): \(t.strides.count) strides for rank \(dims.count)")
        guard let n = t.shape.checkedElementCount, n > 0 else { continue }
        guard let elem = t.dtype.byteCount(elements: 1) else { continue }
        // The furthest element the view reaches must lie inside its storage.
        var last = 0
        for (d, s) in zip(dims, t.strides) {
            precondition(s >= 0, "\(name): negative stride")
            let (m, o1) = (d - 1).multipliedReportingOverflow(by: s)
            let (a, o2) = last.addingReportingOverflow(m)
            precondition(!o1 && !o2, "\(name): view offset overflows")
            last = a
        }
        let (end, o) = (last + 1).multipliedReportingOverflow(by: elem)
        precondition(!o && t.byteOffset + end <= t.storage.byteCount, "\(name): view reaches past its storage")
        let bytes = UnsafeRawBufferPointer(start: t.storage.base, count: t.storage.byteCount)
        for b in bytes { sum &+= b } // touch every byte the reader claims is inside the file
    }
    return CInt(sum & 0)
}
