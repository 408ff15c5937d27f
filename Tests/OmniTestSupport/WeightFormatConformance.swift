// XCTest helpers: compiled only where XCTest is (the cuda-check program links this target without it).
#if canImport(XCTest)
import Foundation
import OmniCore
import XCTest

/// Checks every `WeightFormat` plugin must pass, whatever its file layout.
///
/// Readers: `canOpen` agrees with `open`, names are sorted and unique, `info` agrees with `tensor`
/// (dtype, shape, byte span inside a listed file), unknown names throw `missingTensor`, hints do not throw.
/// Writers (when `capabilities.canWrite`): a write of tensors of every declared dtype (block types too) reads back
/// bit-exact, in one file
/// and sharded, and leaves no temporary files behind.
public enum WeightFormatConformance {
    /// Runs the reader checks on `url`, which `format` must be able to open.
    public static func checkReader(_ format: any WeightFormat, url: URL, file: StaticString = #filePath,
                                   line: UInt = #line) throws {
        XCTAssertTrue(format.capabilities.canRead, "\(format.name) should say it reads", file: file, line: line)
        XCTAssertTrue(format.canOpen(url), "\(format.name).canOpen(\(url.path))", file: file, line: line)
        let source = try format.open(url)
        XCTAssertEqual(source.formatName, format.name, file: file, line: line)
        XCTAssertEqual(source.names, source.names.sorted(), "names sorted", file: file, line: line)
        XCTAssertEqual(Set(source.names).count, source.names.count, "names unique", file: file, line: line)
        XCTAssertFalse(source.names.isEmpty, "a test checkpoint should hold tensors", file: file, line: line)
        for name in source.names {
            guard let info = source.info(name) else { XCTFail("no info for \(name)", file: file, line: line); continue }
            XCTAssertEqual(info.name, name, file: file, line: line)
            XCTAssertTrue(source.files.contains(info.file), "\(name): file \(info.file) not listed", file: file, line: line)
            XCTAssertTrue(format.capabilities.dtypes.contains(info.dtype), "\(name): dtype \(info.dtype) not declared",
                          file: file, line: line)
            let t = try source.tensor(name)
            XCTAssertEqual(t.dtype, info.dtype, name, file: file, line: line)
            XCTAssertEqual(t.shape, info.shape, name, file: file, line: line)
            if t.isContiguous {
                XCTAssertGreaterThanOrEqual(info.byteRange.count, t.byteCount, "\(name): byte span", file: file, line: line)
            }
            source.prefetch(name)
            source.release(name)
        }
        XCTAssertNil(source.info("no such tensor ✗"), file: file, line: line)
        XCTAssertThrowsError(try source.tensor("no such tensor ✗"), file: file, line: line) { error in
            guard case OmniError.missingTensor(let key, _) = error else {
                return XCTFail("expected missingTensor, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(key, "no such tensor ✗", file: file, line: line)
        }
    }

    /// Writes a small mixed-dtype checkpoint into `folder` with `format` (one file named `single`, then
    /// sharded into `folder/sharded` when `sharding` is true) and checks it reads back bit-exact.
    public static func checkWriter(_ format: any WeightFormat, folder: URL, single: String, sharding: Bool,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(format.capabilities.canWrite, "\(format.name) should say it writes", file: file, line: line)
        var rng = SeededGenerator(seed: 7)
        var entries: [TensorEntry] = []
        var expected: [String: [UInt8]] = [:]
        for (i, dtype) in DType.allCases.enumerated() where format.capabilities.dtypes.contains(dtype) {
            // Block types take whole blocks a row (one or two); bytes round-trip as bytes, whatever they encode.
            let shape: Shape = dtype.isQuantized ? [3, dtype.blockElements * (1 + i % 2)] : [3, 2 + i]
            let t = Tensor(zeros: shape, dtype: dtype)
            let bytes = (0..<t.byteCount).map { _ in UInt8.random(in: 0...255, using: &rng) & (dtype == .bool ? 1 : 255) }
            bytes.withUnsafeBytes { t.storage.cpuAddress.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let name = "layer.\(i).w_\(dtype)"
            expected[name] = bytes
            entries.append(TensorEntry(name: name, dtype: dtype, shape: shape) { t })
        }
        var targets = [(folder.appendingPathComponent(single), WeightWriteOptions(metadata: ["k": "v"]))]
        if sharding {
            targets.append((folder.appendingPathComponent("sharded"), WeightWriteOptions(maxShardBytes: 40)))
        }
        for (url, options) in targets {
            let written = try format.write(entries, to: url, options: options)
            XCTAssertFalse(written.isEmpty, file: file, line: line)
            let back = try format.open(url)
            XCTAssertEqual(back.names, expected.keys.sorted(), file: file, line: line)
            for (name, bytes) in expected {
                let t = try back.tensor(name).contiguous()
                XCTAssertEqual(Array(UnsafeRawBufferPointer(start: t.rawPointer, count: t.byteCount)), bytes, name,
                               file: file, line: line)
            }
            let dir = written[0].deletingLastPathComponent().path
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp") }
            XCTAssertEqual(leftovers, [], "temporary files left in \(dir)", file: file, line: line)
        }
    }
}
#endif
