import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The disk tier and the CPU budget: paging weights in and out must not change a single bit of the output,
/// and a budget that cannot hold the weights fails before allocating, naming the device.
final class DiskTierTests: XCTestCase {
    func logits(diskKeys: (ThinkerTextModel) -> Set<String>, budget: Int? = nil) throws -> [Float] {
        let registry = BuiltinPlugins.registry()
        let config = try OmniConfig.load(directory: Fixtures.tinyModel)
        let source = try registry.weightFormat(for: Fixtures.tinyModel).open(Fixtures.tinyModel)
        let model = ThinkerTextModel(config: config.thinker.text, attention: ["flash_attention_2"])
        let device = CPUDevice(budget: budget)
        let weights = ModelWeights(source: source, registry: registry, device: device, diskKeys: diskKeys(model))
        let session = try ThinkerSession(model: model, executor: Executor(registry: registry, device: device),
                                         weights: weights, capacity: 40)
        var out = try session.prefill(ids: Array(5..<35), allLogits: true)[ThinkerTextModel.logits]!.floats()
        for id in [7, 9, 11] { out += try session.step(id) }
        return out
    }

    func testEverythingOnDiskIsBitIdenticalToInMemory() throws {
        let memory = try logits(diskKeys: { _ in [] })
        let disk = try logits(diskKeys: { Set($0.expectedWeights().keys) })
        XCTAssertEqual(memory.count, disk.count)
        XCTAssertTrue(zip(memory, disk).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    func testBudgetTooSmallForWeightsFailsNamingTheDevice() throws {
        // 800 KiB holds the KV cache, activations and the blocked GEMM's widened-weight scratch of this run (≈ 610
        // KiB) but not those plus the 657 KiB of bf16 weights.
        XCTAssertThrowsError(try logits(diskKeys: { _ in [] }, budget: 800 * 1024)) { e in
            XCTAssertTrue("\(e)".contains("cpu") && "\(e)".contains("exceed the budget"), "\(e)")
        }
        // The same budget works when the weights live on the disk tier, with the same output bits.
        let onDisk = try logits(diskKeys: { Set($0.expectedWeights().keys) }, budget: 800 * 1024)
        let inMemory = try logits(diskKeys: { _ in [] })
        XCTAssertTrue(zip(onDisk, inMemory).allSatisfy { $0.bitPattern == $1.bitPattern })
    }
}
