import Foundation
import OmniCore
import XCTest

/// Builds hand-made (often malformed) safetensors files in a fresh temporary folder.
struct SafetensorsScratch {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    /// Writes `8-byte length (or `lengthOverride`) + header + data` to `name`.
    @discardableResult
    func file(_ name: String, header: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) throws -> URL {
        let h = Array(header.utf8)
        var bytes: [UInt8] = []
        let n = lengthOverride ?? UInt64(h.count)
        for i in 0..<8 { bytes.append(UInt8((n >> (8 * UInt64(i))) & 0xff)) }
        bytes += h + data
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// Writes raw `bytes` to `name`.
    @discardableResult
    func raw(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }
}

/// Asserts `body` throws `OmniError.weightFile` whose file ends with `file`, whose tensor is `tensor`,
/// and whose reason contains `reason`.
func assertWeightFileError(file: String, tensor: String?, reason: String,
                           _ body: () throws -> Any, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a weightFile error (\(reason)), got success", line: line)
    } catch let OmniError.weightFile(f, t, r) {
        XCTAssertTrue(f.hasSuffix(file), "file \(f) should end with \(file)", line: line)
        XCTAssertEqual(t, tensor, "tensor in: \(r)", line: line)
        XCTAssertTrue(r.contains(reason), "reason '\(r)' should contain '\(reason)'", line: line)
    } catch {
        XCTFail("expected a weightFile error (\(reason)), got \(error)", line: line)
    }
}
