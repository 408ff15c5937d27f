import FormatSafetensors
import FormatTorchPickle
import Foundation
import OmniCore
import OmniTestSupport
import XCTest

/// Seeded random corruption of small valid files (flipped bytes, truncation): every outcome must be a
/// successful open or a typed `OmniError`, never a crash. A smoke test, not a replacement for fuzzing.
final class FormatMutationTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mut-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func mutate(_ original: [UInt8], name: String, format: any WeightFormat, seed: UInt64, rounds: Int,
                region: Range<Int>? = nil) throws -> (opened: Int, refused: Int) {
        var rng = SeededGenerator(seed: seed)
        var opened = 0, refused = 0
        let url = dir.appendingPathComponent(name)
        let region = region ?? 0..<original.count
        for _ in 0..<rounds {
            var bytes = original
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: region, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 1:
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng)))
            default:
                let i = Int.random(in: region, using: &rng)
                bytes[i] = bytes[i] ^ (1 << UInt8.random(in: 0..<8, using: &rng))
            }
            try Data(bytes).write(to: url)
            do {
                let src = try format.open(url)
                for n in src.names { _ = try src.tensor(n).contiguous() }
                opened += 1
            } catch is OmniError {
                refused += 1
            }
        }
        return (opened, refused)
    }

    func testSafetensorsHeaderMutations() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"#
            + #""b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},"c":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}"#
        let h = Array(header.utf8)
        var bytes = (0..<8).map { UInt8((h.count >> (8 * $0)) & 0xff) } + h
        bytes += [UInt8](repeating: 0x3F, count: 32)
        let r = try mutate(bytes, name: "m.safetensors", format: SafetensorsFormat(), seed: 1, rounds: 250,
                           region: 0..<(8 + h.count))
        XCTAssertGreaterThan(r.refused, 125, "most corruptions should be refused")
    }

    func testTorchZipMutations() throws {
        let url = Fixtures.root.appendingPathComponent("Tests/Fixtures/torch/state_dict.pt")
        let bytes = [UInt8](try Data(contentsOf: url))
        let r = try mutate(bytes, name: "m.pt", format: TorchPickleFormat(), seed: 2, rounds: 250)
        XCTAssertGreaterThan(r.refused, 60)
    }
}
