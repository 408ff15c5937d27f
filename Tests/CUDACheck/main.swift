// cuda-check: the backend conformance suite against the CUDA executor, as a plain program (the GPU machine has no
// Swift toolchain for XCTest bundles; this builds with --static-swift-stdlib and runs there). Exit status 1 on any
// failure, 2 when there is no GPU (the reason is printed).
import BuiltinPlugins
import DeviceCUDA
import Foundation
import OmniCore
import OmniExec
import OmniTestSupport
import Qwen25Omni

let registry = BuiltinPlugins.registry()
if case let .unavailable(reason) = CUDAPlugin().probe() {
    print("no CUDA device: \(reason)")
    exit(2)
}
print("devices: " + CUDAPlugin().probe().devices.map(\.description).joined(separator: "; "))
var failed = false
for precision in [ComputePrecision.f32] {
    let exec = try CUDAExecutor(ordinal: 0, registry: registry, precision: precision, host: CPUDevice())
    let report = try BackendConformance.check(exec)
    let uncovered = Set(OpKind.allCases).subtracting(report.covered).map(\.rawValue).sorted()
    print("conformance (\(precision)): \(report.covered.count) op kinds pass; failures: \(report.failures); skipped: \(report.skipped); uncovered: \(uncovered)")
    if !report.failures.isEmpty || uncovered != ["fused"] { failed = true }
    print(exec.memoryReport())
}
// Fused ops with CUDA source against their CPU kernels: BigVGAN's anti-aliased SnakeBeta.
do {
    let (c, l) = (5, 37)
    var rng = SeededGenerator(seed: 7)
    var g = Graph()
    let x = g.input("x", shape: [c, l])
    g.markOutput(g.snakeBeta(x, alpha: g.weight("a", shape: [c]), beta: g.weight("b", shape: [c]), name: "y"))
    let inputs = ["x": Tensor((0..<(c * l)).map { _ in rng.normal() }, shape: [c, l])]
    let weights = InMemoryWeights(["a": Tensor((0..<c).map { _ in 0.3 * rng.normal() }, shape: [c]),
                                   "b": Tensor((0..<c).map { _ in 0.3 * rng.normal() }, shape: [c])])
    let cpu = try Executor(registry: registry, threads: 1).run(g, bucket: nil, inputs: inputs, weights: weights, cache: nil, keep: [])
    let gpu = try CUDAExecutor(ordinal: 0, registry: registry, host: CPUDevice())
        .run(g, bucket: nil, inputs: inputs, weights: weights, cache: nil, keep: [])
    let err = Tolerance.relativeMaxError(try gpu["y"]!.floats(), try cpu["y"]!.floats())
    print("snake beta (fused, CUDA source) vs CPU: rel err \(err)")
    if !(err <= 1e-5) { failed = true }
}
// The cuda-kernels kernels inside the executor (FlashChecks.swift).
if !(try checkFlashAgainstEager(registry: registry)) { failed = true }
if !(try checkDecodeAgainstEager(registry: registry)) { failed = true }
if !(try checkBF16CacheAgainstF32(registry: registry)) { failed = true }
if !(try checkGemvAgainstCPU(registry: registry)) { failed = true }
if !(try checkGroupedGemvAgainstCPU(registry: registry)) { failed = true }
if !(try checkMLPAgainstCPU(registry: registry)) { failed = true }
if !(try checkRunMemoryEstimate(registry: registry)) { failed = true }
exit(failed ? 1 : 0)
