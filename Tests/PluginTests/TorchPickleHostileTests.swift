import FormatTorchPickle
import Foundation
import OmniCore
import XCTest

/// Hostile and malformed torch archives: typed errors naming the file, nothing executed, no crash.
final class TorchPickleHostileTests: XCTestCase {
    let format = TorchPickleFormat()
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("tph-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    func archive(_ pkl: [UInt8], extra: [(String, [UInt8])] = []) throws -> URL {
        try write("x.pt", TorchZip.archive([("x/data.pkl", pkl)] + extra))
    }

    /// `{'x': os.system('touch MARKER')}` — the same bytes make CPython's pickle.loads create the marker.
    func testOsSystemIsRefusedAndNotRun() throws {
        let marker = dir.appendingPathComponent("pwned-system")
        let pkl = P.proto2 + P.emptyDict + P.mark + P.binunicode("x") + P.global("os", "system")
            + P.binunicode("touch \(marker.path)") + P.tuple1 + P.reduce + P.setitems + P.stop
        let url = try archive(pkl)
        assertWeightFileError(file: "x.pt", tensor: nil, reason: "'os.system', which is not allowed") {
            try self.format.open(url)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path))
    }

    /// `{'x': builtins.eval("open(MARKER, 'w')")}` through STACK_GLOBAL (protocol 4).
    func testBuiltinsEvalIsRefusedAndNotRun() throws {
        let marker = dir.appendingPathComponent("pwned-eval")
        let pkl: [UInt8] = [0x80, 4] + P.emptyDict + P.mark + P.shortBinunicode("x") + P.shortBinunicode("builtins")
            + P.shortBinunicode("eval") + [0x93] + P.shortBinunicode("open('\(marker.path)','w')") + P.tuple1
            + P.reduce + P.setitems + P.stop
        let url = try archive(pkl)
        assertWeightFileError(file: "x.pt", tensor: nil, reason: "'builtins.eval', which is not allowed") {
            try self.format.open(url)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker.path))
    }

    func testObjectConstructionOpcodeRefused() throws {
        let pkl = P.proto2 + P.global("collections", "OrderedDict") + [0x29, 0x81] + P.stop   // NEWOBJ
        let url = try archive(pkl)
        assertWeightFileError(file: "x.pt", tensor: nil, reason: "not allowed") { try self.format.open(url) }
    }

    func testBadMagic() throws {
        let url = try write("bad.pt", Array("this is not a zip archive at all".utf8))
        assertWeightFileError(file: "bad.pt", tensor: nil, reason: "bad magic") { try self.format.open(url) }
    }

    func testLegacyFormat() throws {
        // Legacy torch.save starts with a pickled magic number: \x80\x02\x8a\x0a...
        let url = try write("old.pt", [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19])
        assertWeightFileError(file: "old.pt", tensor: nil, reason: "legacy torch format") { try self.format.open(url) }
    }

    func testTruncatedZip() throws {
        let full = TorchZip.archive([("x/data.pkl", P.proto2 + P.emptyDict + P.stop)])
        for cut in [10, full.count / 2, full.count - 5] {
            let url = try write("t\(cut).pt", Array(full.prefix(cut)))
            assertWeightFileError(file: "t\(cut).pt", tensor: nil, reason: "truncated") { try self.format.open(url) }
        }
    }

    func testCentralDirectoryPointingOutside() throws {
        var bytes = TorchZip.archive([("x/data.pkl", P.proto2 + P.emptyDict + P.stop)])
        bytes[bytes.count - 6] = 0xFF   // central directory offset → far beyond the file
        bytes[bytes.count - 5] = 0xFF
        let url = try write("cd.pt", bytes)
        assertWeightFileError(file: "cd.pt", tensor: nil, reason: "outside the file") { try self.format.open(url) }
    }

    func testCompressedMemberRefused() throws {
        let url = try write("z.pt", TorchZip.archive([("x/data.pkl", P.proto2 + P.emptyDict + P.stop)], method: 8))
        assertWeightFileError(file: "z.pt", tensor: "x/data.pkl", reason: "compressed") { try self.format.open(url) }
    }

    func testTruncatedPickle() throws {
        let url = try archive(P.proto2 + P.emptyDict + P.mark + P.binunicode("x"))
        assertWeightFileError(file: "x.pt", tensor: nil, reason: "truncated pickle") { try self.format.open(url) }
    }

    func testViewPastStorage() throws {
        let pkl = P.proto2 + P.emptyDict + P.mark + P.binunicode("w")
            + P.tensor(key: "0", numel: 4, offset: 2, size: [3], stride: [1]) + P.setitems + P.stop
        let url = try archive(pkl, extra: [("x/data/0", [UInt8](repeating: 0, count: 16))])
        assertWeightFileError(file: "x.pt", tensor: "w", reason: "reaches past the storage") { try self.format.open(url) }
    }

    func testStorageLargerThanMember() throws {
        let pkl = P.proto2 + P.emptyDict + P.mark + P.binunicode("w")
            + P.tensor(key: "0", numel: 8, offset: 0, size: [8], stride: [1]) + P.setitems + P.stop
        let url = try archive(pkl, extra: [("x/data/0", [UInt8](repeating: 0, count: 16))])
        assertWeightFileError(file: "x.pt", tensor: "w", reason: "does not fit member") { try self.format.open(url) }
    }

    func testUnsupportedStorageDType() throws {
        let pkl = P.proto2 + P.emptyDict + P.mark + P.binunicode("w")
            + P.tensor(key: "0", numel: 2, offset: 0, size: [2], stride: [1], storage: "DoubleStorage")
            + P.setitems + P.stop
        let url = try archive(pkl, extra: [("x/data/0", [UInt8](repeating: 0, count: 16))])
        assertWeightFileError(file: "x.pt", tensor: "w", reason: "unsupported dtype") { try self.format.open(url) }
    }

    func testMissingStorageMember() throws {
        let pkl = P.proto2 + P.emptyDict + P.mark + P.binunicode("w")
            + P.tensor(key: "7", numel: 2, offset: 0, size: [2], stride: [1]) + P.setitems + P.stop
        let url = try archive(pkl)
        assertWeightFileError(file: "x.pt", tensor: "w", reason: "missing") { try self.format.open(url) }
    }

    func testSelfReferentialListIsBoundedNotInfinite() throws {
        // l = []; l.append(l); {'l': l}
        let pkl = P.proto2 + P.emptyDict + P.mark + P.binunicode("l") + [0x5D, 0x71, 0x00, 0x68, 0x00, 0x61]
            + P.setitems + P.stop
        let url = try archive(pkl)
        assertWeightFileError(file: "x.pt", tensor: "l", reason: "nested deeper") { try self.format.open(url) }
    }

    func testUnknownOpcode() throws {
        let url = try archive(P.proto2 + [0xFF] + P.stop)
        assertWeightFileError(file: "x.pt", tensor: nil, reason: "unsupported pickle opcode 0xff") {
            try self.format.open(url)
        }
    }
}
