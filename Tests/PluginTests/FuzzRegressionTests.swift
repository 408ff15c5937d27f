import Foundation
import FormatGGUF
import FormatZstd
import OmniCore
import OmniTestSupport
import XCTest

/// Inputs the fuzzers (Fuzz/) once crashed on, kept in Tests/Fixtures/fuzz/<format>/: each must now open
/// cleanly or fail with an `OmniError`, and loading every tensor must not crash.
final class FuzzRegressionTests: XCTestCase {
    func inputs(_ format: String) throws -> [URL] {
        let dir = Fixtures.root.appendingPathComponent("Tests/Fixtures/fuzz/\(format)")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    func check(_ url: URL, open: (String) throws -> any WeightSource) {
        do {
            let src = try open(url.path)
            for n in src.names { _ = try src.tensor(n) }
        } catch let e as OmniError {
            guard case let .weightFile(file, _, _) = e else { return XCTFail("\(url.lastPathComponent): \(e)") }
            XCTAssertEqual(file, url.path)
        } catch {
            XCTFail("\(url.lastPathComponent): untyped error \(error)")
        }
    }

    func testGGUFCrashInputs() throws {
        let files = try inputs("gguf")
        XCTAssertFalse(files.isEmpty)
        for f in files { check(f) { try GGUFSource(path: $0) } }
        // A zero dimension next to huge ones: 0 elements, but row-major strides overflow.
        let zeroDim = Fixtures.root.appendingPathComponent("Tests/Fixtures/fuzz/gguf/zero-dim-stride-overflow.gguf")
        XCTAssertThrowsError(try GGUFSource(path: zeroDim.path)) { e in
            XCTAssertTrue("\(e)".contains("overflows"), "\(e)")
        }
    }

    func testZstdCrashInputs() throws {
        for f in try inputs("omz") { check(f) { try ZstdSource(path: $0, threads: 2) } }
    }
}
