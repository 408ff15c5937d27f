import BuiltinPlugins
import FormatGGUF
import FormatSafetensors
import FormatTorchPickle
import FormatZstd
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// The shared WeightFormat conformance checks, run against this repository's format plugins: each by name with a
/// file it can read, and every registered writer through a write-then-read round trip (so a format added to the one
/// list is checked without touching this file).
final class WeightFormatConformanceTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory("wfc") }

    func testSafetensors() throws {
        try WeightFormatConformance.checkReader(SafetensorsFormat(), url: Fixtures.tinyModel)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wfc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try WeightFormatConformance.checkWriter(SafetensorsFormat(), folder: dir, single: "one.safetensors", sharding: true)
    }

    func testTorchPickle() throws {
        try WeightFormatConformance.checkReader(TorchPickleFormat(),
                                                url: Fixtures.tinyModel.appendingPathComponent("spk_dict.pt"))
    }

    func testGGUF() throws {
        try WeightFormatConformance.checkWriter(GGUFFormat(), folder: dir, single: "one.gguf", sharding: false)
        try WeightFormatConformance.checkReader(GGUFFormat(), url: dir.appendingPathComponent("one.gguf"))
    }

    func testZstd() throws {
        try WeightFormatConformance.checkWriter(ZstdFormat(), folder: dir, single: "one.omz", sharding: false)
        try WeightFormatConformance.checkReader(ZstdFormat(), url: dir.appendingPathComponent("one.omz"))
    }

    /// Every registered format that writes: a round trip into its own folder, then the reader checks on the result.
    func testEveryRegisteredWriter() throws {
        let formats = BuiltinPlugins.registry().weightFormats.filter { $0.capabilities.canWrite }
        XCTAssertFalse(formats.isEmpty)
        for format in formats {
            let folder = dir.appendingPathComponent(format.name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let ext = format.capabilities.fileExtensions.first ?? "bin"
            try WeightFormatConformance.checkWriter(format, folder: folder, single: "one.\(ext)", sharding: false)
            try WeightFormatConformance.checkReader(format, url: folder.appendingPathComponent("one.\(ext)"))
        }
    }
}
