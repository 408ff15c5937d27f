import BuiltinPlugins
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// `ModelWeights` keeping Q8_0 linear weights in the CPU decode kernels' layout (`TensorLayout.q8_0Rows8`): one copy
/// in memory, accounted as the stored one was, and the thinker's logits as with the stored layout within the bound
/// for paths that quantize activations (ExecutorTests' 2e-2).
final class InterleavedWeightsTests: XCTestCase {
    func testQ8WeightsInterleavedKeepTheirAccountingAndTheLogits() throws {
        let c = try XCTUnwrap(Fixtures.checkpoints.first)
        let registry = BuiltinPlugins.registry()
        let config = try OmniConfig.load(directory: c.model)
        let ref = try loadSafetensors(c.reference.appendingPathComponent("text.safetensors")).tensors
        let ids = try XCTUnwrap(ref["input_ids"]).int64s().map { Int($0) }
        let pos = try XCTUnwrap(ref["position_ids"]).int64s()
        let rows = (0..<3).map { r in Array(pos[(r * ids.count)..<((r + 1) * ids.count)]) }
        var logits: [[Float]] = [], weightBytes: [Int] = [], interleaved: [Int] = []
        for interleave in [false, true] {
            let source = try registry.weightFormat(for: c.model).open(c.model)
            let weights = ModelWeights(source: source, registry: registry, policy: DTypePolicy(.q8_0), device: CPUDevice())
            let model = ThinkerTextModel(config: config.thinker.text, attention: ["eager"])
            let exec = Executor(registry: registry)
            exec.interleavesQuantizedWeights = interleave
            let session = try ThinkerSession(model: model, executor: exec, weights: weights, capacity: ids.count)
            // Token by token: every linear runs on the decode kernels (one row of x).
            var last: [Float] = []
            for (i, id) in ids.enumerated() {
                let out = try session.prefill(ids: [id], positions: rows.map { [$0[i]] }, allLogits: false)
                last = try XCTUnwrap(out[ThinkerTextModel.logits]).floats()
            }
            logits.append(last)
            weightBytes.append(weights.device.memory.report().current[.weights] ?? 0)
            interleaved.append(try source.names.filter { $0.contains("layers.") && $0.hasSuffix("proj.weight") }
                .filter { try weights.tensor($0).layout == .q8_0Rows8 }.count)
        }
        XCTAssertEqual(interleaved[0], 0)
        XCTAssertGreaterThan(interleaved[1], 0, "the thinker's Q8_0 projections are bound interleaved")
        XCTAssertEqual(weightBytes[0], weightBytes[1], "one copy, accounted as before")
        XCTAssertLessThanOrEqual(Tolerance.relativeMaxError(logits[1], logits[0]), 2e-2)
    }
}
