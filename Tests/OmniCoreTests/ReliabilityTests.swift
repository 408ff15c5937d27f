#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// Checked arithmetic, regular-file-only opening, and atomic folders (stale temporaries, no-replace publish).
final class ReliabilityTests: XCTestCase {
    func testCheckedArithmetic() throws {
        XCTAssertEqual((Checked(6) * 7 + 1).value, 43)
        XCTAssertNil((Checked(Int.max) + 1).value)
        XCTAssertNil((Checked(1 << 40) * (1 << 40)).value)
        XCTAssertNil((Checked(Int.min) - 1).value)
        XCTAssertNil((Checked(5) / 0).value)
        XCTAssertNil((Checked.overflow + 0).value, "overflow sticks")
        XCTAssertEqual(Checked.product([2, 3, 4]).value, 24)
        XCTAssertNil(Checked.product([Int.max, 2, 0]).value, "an overflow on the way is not undone by a later 0")
        XCTAssertEqual(Checked(exactly: 2.1).value, 3)
        for bad in [Double.infinity, -.infinity, .nan, 1e300] { XCTAssertNil(Checked(exactly: bad).value, "\(bad)") }
        XCTAssertEqual(Checked.overflow.saturated, Int.max)
        XCTAssertThrowsError(try (Checked(Int.max) * 2).get(or: .invalidArgument(name: "--x", expected: "small", actual: "big"))) {
            XCTAssertEqual($0 as? OmniError, .invalidArgument(name: "--x", expected: "small", actual: "big"))
        }
    }

    func testFIFOAndDeviceNodesAreTypedErrorsNotHangs() throws {
        let dir = try temporaryDirectory("omni-fifo")
        let fifo = dir.appendingPathComponent("config.json").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let start = Date()
        for attempt in [{ _ = try RegularFile.read(fifo) }, { _ = try MappedFile(path: fifo) }, { _ = try RegularFile.open("/dev/zero") }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard case let OmniError.io(_, reason)? = error as? OmniError else { return XCTFail("\(error)") }
                XCTAssertTrue(reason.contains("regular file"), reason)
            }
        }
        XCTAssertFalse(MappedFile.hasMagic(fifo, [0x7B]))
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "no open may block")
        XCTAssertThrowsError(try RegularFile.read(dir.path)) { XCTAssertTrue("\($0)".contains("directory"), "\($0)") }
        let file = dir.appendingPathComponent("a.txt")
        try Data("abc".utf8).write(to: file)
        XCTAssertEqual(try RegularFile.read(file.path), Data("abc".utf8))
        XCTAssertThrowsError(try RegularFile.read(file.path, limit: 2))
    }

    func testAtomicDirectoryPublishesOnlyWhenCommittedAndNeverReplaces() throws {
        let dir = try temporaryDirectory("omni-atomic")
        let out = dir.appendingPathComponent("out")
        do {
            let staged = try AtomicDirectory(destination: out)
            try Data("x".utf8).write(to: staged.url.appendingPathComponent("config.json"))
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "invisible until commit")
            // dropped without commit
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "a dropped staging folder is removed")

        let first = try AtomicDirectory(destination: out), second = try AtomicDirectory(destination: out)
        try Data("1".utf8).write(to: first.url.appendingPathComponent("config.json"))
        try Data("2".utf8).write(to: second.url.appendingPathComponent("config.json"))
        try first.commit()
        XCTAssertThrowsError(try second.commit()) { XCTAssertTrue("\($0)".contains("exists already"), "\($0)") }
        second.discard()
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8), "1")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out"])

        // A single file: link-based publish refuses an existing destination too.
        let a = dir.appendingPathComponent("a.bin"), target = dir.appendingPathComponent("model.omz")
        try Data("a".utf8).write(to: a)
        try AtomicStaging.publish(a, to: target)
        try Data("b".utf8).write(to: a)
        XCTAssertThrowsError(try AtomicStaging.publish(a, to: target))
        XCTAssertEqual(try Data(contentsOf: target), Data("a".utf8))
    }

    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = try temporaryDirectory("omni-stale")
        let out = dir.appendingPathComponent("out")
        // A pid that cannot be running (above the kernel's pid_max of 2^22) and our own live pid's sibling.
        let stale = dir.appendingPathComponent(".out.partial-99999999-1")
        let live = dir.appendingPathComponent(".out.partial-\(getppid())-2")
        let staleFile = dir.appendingPathComponent(".w.safetensors.tmp-99999999-3")
        for d in [stale, live] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: false) }
        try Data("x".utf8).write(to: staleFile)
        let staged = try AtomicDirectory(destination: out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: live.path), "a live process's temporary is kept")
        staged.discard()
        let file = try AtomicFile(destination: dir.appendingPathComponent("w.safetensors"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleFile.path))
        file.discard()
    }
}
