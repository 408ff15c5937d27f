import Foundation

/// Builds PyTorch-style zip archives (stored members) and pickle byte streams for tests.
enum TorchZip {
    /// A zip with `members` stored uncompressed (CRC left 0: our reader does not check it).
    /// `method` marks every member as compressed with that method, to test refusals.
    static func archive(_ members: [(String, [UInt8])], method: UInt16 = 0) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8((v >> (8 * $0)) & 0xff) } }
        for (name, data) in members {
            let offset = out.count
            let n = Array(name.utf8)
            out += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(Int(method), 2) + le(0, 4) + le(0, 4)
                + le(data.count, 4) + le(data.count, 4) + le(n.count, 2) + le(0, 2) + n + data
            central += le(0x0201_4b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(Int(method), 2) + le(0, 4)
                + le(0, 4) + le(data.count, 4) + le(data.count, 4) + le(n.count, 2) + le(0, 2) + le(0, 2)
                + le(0, 2) + le(0, 2) + le(0, 4) + le(offset, 4) + n
        }
        let cdOffset = out.count
        out += central
        out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(members.count, 2) + le(members.count, 2)
            + le(central.count, 4) + le(cdOffset, 4) + le(0, 2)
        return out
    }
}

/// Pickle opcodes, spelled out so tests read like `pickletools.dis` output.
enum P {
    static func binunicode(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return [0x58] + (0..<4).map { UInt8((b.count >> (8 * $0)) & 0xff) } + b
    }
    static func shortBinunicode(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func int1(_ v: UInt8) -> [UInt8] { [0x4B, v] }
    static let proto2: [UInt8] = [0x80, 2]
    static let emptyDict: [UInt8] = [0x7D]
    static let mark: [UInt8] = [0x28]
    static let tuple: [UInt8] = [0x74]
    static let tuple1: [UInt8] = [0x85]
    static let reduce: [UInt8] = [0x52]
    static let setitems: [UInt8] = [0x75]
    static let stop: [UInt8] = [0x2E]
    static let newFalse: [UInt8] = [0x89]
    static let binpersid: [UInt8] = [0x51]

    /// `_rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel), offset, size, stride, False,
    /// OrderedDict())`.
    static func tensor(key: String, numel: UInt8, offset: UInt8, size: [UInt8], stride: [UInt8],
                       storage: String = "FloatStorage") -> [UInt8] {
        var b = global("torch._utils", "_rebuild_tensor_v2") + mark
        b += mark + binunicode("storage") + global("torch", storage) + binunicode(key) + binunicode("cpu")
            + int1(numel) + tuple + binpersid
        b += int1(offset)
        b += mark + size.flatMap { int1($0) } + tuple
        b += mark + stride.flatMap { int1($0) } + tuple
        b += newFalse + global("collections", "OrderedDict") + [0x29] + reduce
        return b + tuple + reduce
    }
}
