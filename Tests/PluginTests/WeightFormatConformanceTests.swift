import FormatSafetensors
import FormatTorchPickle
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// The shared WeightFormat conformance checks, run against this repository's format plugins.
final class WeightFormatConformanceTests: XCTestCase {
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
}
