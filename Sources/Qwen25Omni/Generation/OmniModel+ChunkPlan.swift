import Foundation
import OmniCore

/// Chunk sizes for one real input (issue 14): the load plan budgets for a nominal input; generation knows the
/// processor's actual prompt, audio lengths and grids, and sizes the same graphs for them.
extension OmniModel {
    /// The chunk sizes for generating `maxNewTokens` from `input`: what `requested` fixes is kept, the rest is the
    /// largest that fits what the cpu `max_memory` leaves once the placed weights, the paging reserve, this input's
    /// KV caches and its prompt rows are taken out; whole without a cpu budget. The result also holds the phases
    /// and their memory, as `omni plan` prints them.
    public func plannedChunks(for input: ThinkerInput, maxNewTokens: Int,
                              requested: ChunkSizes = ChunkSizes()) throws -> ActivationPlanner.Result {
        let workload = try Workload(input, newTokens: maxNewTokens)
        let components = Set(plan.units.map(\.component))
        let planner = try ActivationPlanner(config: config, workload: workload, options: options, registry: registry,
                                        infos: weights.source.names.compactMap { weights.source.info($0) },
                                        threads: ProcessInfo.processInfo.activeProcessorCount, components: components)
        guard let cpu = plan.maxMemory[.cpu] else { return planner.choose(requested: requested, budget: nil) }
        let t = config.thinker.text
        let kv = Checked(t.layers) * 2 * t.kvHeads * t.headDim * (Checked(workload.promptTokens) + maxNewTokens) * 4
        let budget = Checked(cpu) - plan.weightBytes(on: .cpu) - plan.pagingReserve - kv - plan.estimates.talkerKVCache
        let probe = planner.smallest(requested: requested)
        return planner.choose(requested: requested, budget: (budget - probe.promptRows).value ?? -1)
    }

    /// Sets the towers' group sizes from `chunks` (the prefill chunk goes in `GenerationOptions.prefillChunk`).
    public func useTowerChunks(_ chunks: ChunkSizes) {
        audioWindowsPerRun = chunks.audioWindows
        visionSlicesPerRun = chunks.visionSlices
    }
}
