import FormatSafetensors
import FormatTorchPickle
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// Inputs that crashed, leaked in or hung the format fuzzers (Fuzz/README-formats.md), or that review found,
/// kept in Tests/Fixtures/fuzz/<safetensors|torch>/ and replayed the way the fuzz targets use them: each must
/// open cleanly or fail with an `OmniError`, and reading every tensor must not crash.
final class FuzzFormatsRegressionTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ffr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// The crash inputs kept for `format`.
    func inputs(_ format: String) throws -> [URL] {
        let folder = Fixtures.root.appendingPathComponent("Tests/Fixtures/fuzz/\(format)")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }
            .sorted().map { folder.appendingPathComponent($0) }
    }

    /// One kept input, which must exist.
    func fixture(_ format: String, _ name: String) throws -> URL {
        let url = Fixtures.root.appendingPathComponent("Tests/Fixtures/fuzz/\(format)/\(name)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), url.path)
        return url
    }

    /// Opens `url` with `format` and reads every tensor; only an `OmniError` may come out.
    func check(_ input: URL, _ url: URL, _ format: any WeightFormat) {
        do {
            let src = try format.open(url)
            _ = src.metadata.count
            for n in src.names { _ = try src.tensor(n) }
        } catch is OmniError {
        } catch {
            XCTFail("\(input.lastPathComponent): untyped error \(error)")
        }
    }

    /// The valid shard FuzzSafetensors.swift puts next to the fuzzed index: `a` f32 (2, 2), `b` i8 (3).
    static let shard: [UInt8] = {
        var json = Array(#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"I8","shape":[3],"data_offsets":[16,19]}}"#.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return (0..<8).map { UInt8(truncatingIfNeeded: json.count >> ($0 * 8)) } + json + (0..<19).map { UInt8($0) }
    }()

    /// Each input as a single `.safetensors` file and as the index of a folder holding the valid shard.
    func testSafetensorsCrashInputs() throws {
        let format = SafetensorsFormat()
        try Data(Self.shard).write(to: dir.appendingPathComponent("shard.safetensors"))
        XCTAssertEqual(try format.open(dir.appendingPathComponent("shard.safetensors")).names, ["a", "b"])
        let files = try inputs("safetensors")
        XCTAssertFalse(files.isEmpty)
        for f in files {
            let bytes = try Data(contentsOf: f)
            let single = dir.appendingPathComponent("input.safetensors")
            try bytes.write(to: single)
            check(f, single, format)
            try FileManager.default.removeItem(at: single)
            try bytes.write(to: dir.appendingPathComponent("model.safetensors.index.json"))
            check(f, dir, format)
        }
    }

    /// A zero dimension next to huge ones: 0 elements, but row-major strides overflow (trapped in `Tensor.init`).
    func testSafetensorsZeroDimShapeWhoseStridesOverflowIsRefused() throws {
        let f = try fixture("safetensors", "zero-dim-stride-overflow.safetensors")
        XCTAssertThrowsError(try SafetensorsFormat().open(f)) { XCTAssertTrue("\($0)".contains("overflows"), "\($0)") }
    }

    /// Each input as a `.pt` file.
    func testTorchCrashInputs() throws {
        let files = try inputs("torch")
        XCTAssertFalse(files.isEmpty)
        for f in files {
            let pt = dir.appendingPathComponent("input.pt")
            try Data(contentsOf: f).write(to: pt)
            check(f, pt, TorchPickleFormat())
        }
    }

    func testTorchZeroDimShapeWhoseStridesOverflowIsRefused() throws {
        let f = try fixture("torch", "zero-dim-stride-overflow.pt")
        XCTAssertThrowsError(try TorchPickleFormat().open(f)) { XCTAssertTrue("\($0)".contains("overflows"), "\($0)") }
    }

    /// An empty view reaches nothing, so its storage offset (2^62, or past the file) is ignored, not multiplied
    /// out (overflow trap) or turned into a range outside the mapping (precondition trap).
    func testTorchEmptyViewWithAnyOffsetOpens() throws {
        for name in ["empty-view-huge-offset.pt", "empty-view-offset-past-file.pt"] {
            let src = try TorchPickleFormat().open(try fixture("torch", name))
            let w = try src.tensor("w")
            XCTAssertEqual(w.shape, [0], name)
            XCTAssertEqual(w.byteCount, 0, name)
        }
    }

    /// `l0 = [1]; l(i+1) = [l(i), l(i)]` 60 deep: a 930-byte file whose flattening would name 2^60 leaves.
    func testTorchSharedContainersCannotBlowUpTheWalk() throws {
        let f = try fixture("torch", "shared-list-blowup.pt")
        XCTAssertThrowsError(try TorchPickleFormat().open(f)) {
            XCTAssertTrue("\($0)".contains("reuses containers"), "\($0)")
        }
    }
}
