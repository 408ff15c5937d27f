// Sample: registering a custom attention backend and running the tiny model with it.
//
// `ReferenceAttention` is a deliberately plain implementation (one query at a time, no tiling). It declares
// what it supports (causal masks only, GQA), so the registry would refuse it for a call that needs segments or
// windows and fall back to the next backend in the chain, logging why.
import Foundation
import SwiftOmni

struct ReferenceAttention: AttentionBackend {
    var name: String { "reference" }
    var capabilities: AttentionCapabilities {
        AttentionCapabilities(dtypes: [.f32], maxHeadDim: 256, maskKinds: [.causal], groupedQuery: true)
    }
    func scratchBytes(for shape: AttentionShape, threads: Int) -> Int { shape.keyLength * 4 }

    func run(_ call: AttentionCall) throws {
        let c = try call.cpuView()   // a CPU backend: host views of the call's tensors
        let s = call.shape, hd = s.headDim, group = s.heads / s.kvHeads
        var scores = [Float](repeating: 0, count: s.keyLength)
        for h in 0..<s.heads {
            for i in 0..<s.queryLength {
                let keys = call.mask.keyRange(query: i, keyLength: s.keyLength)   // the mask travels with the call
                var m = -Float.infinity
                for j in keys {
                    var dot: Float = 0
                    for d in 0..<hd { dot += c.q[i * c.qRowStride + h * hd + d] * c.k[j * c.kRowStride + (h / group) * hd + d] }
                    scores[j] = dot * s.scale
                    m = max(m, scores[j])
                }
                var sum: Float = 0
                for j in keys { scores[j] = exp(scores[j] - m); sum += scores[j] }
                for d in 0..<hd {
                    var acc: Float = 0
                    for j in keys { acc += scores[j] * c.v[j * c.vRowStride + (h / group) * hd + d] }
                    c.out[i * c.outRowStride + h * hd + d] = sum > 0 ? acc / sum : 0
                }
            }
        }
    }
}

do {
    var registry = BuiltinPlugins.registry()
    registry.register(ReferenceAttention())
    let model = try OmniModel.fromPretrained(CommandLine.arguments.dropFirst().first ?? "Models/tiny-omni",
                                             options: LoadOptions(attention: "reference"), registry: registry)
    let ids = model.chatPrompt("Which backend runs me?")
    let custom = try model.generate(ids: ids, options: GenerationOptions(maxNewTokens: 8))
    let eager = try OmniModel.fromPretrained(model.directory.url.path, options: LoadOptions(attention: "eager"))
        .generate(ids: ids, options: GenerationOptions(maxNewTokens: 8))
    print("reference backend: \(custom)")
    print("eager backend:     \(eager)")
    print(custom == eager ? "same greedy tokens" : "tokens differ")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
