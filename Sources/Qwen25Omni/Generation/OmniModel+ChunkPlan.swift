import Foundation
import OmniCore

/// Chunk sizes for one real input (issue 14): the load plan budgets for a nominal input; generation knows the
/// processor's actual prompt, audio lengths and grids, and sizes the same graphs for them.
extension OmniModel {
    /// The chunk sizes for generating `maxNewTokens` from `input`: what `requested` fixes is kept, the rest is the
    /// largest that fits the budget of the device the executor runs on, whole without one. On the cpu that is what
    /// its `max_memory` leaves once the placed weights, the paging reserve, this input's KV caches and its prompt
    /// rows are taken out; on a GPU (`--device-map cuda:0 --max-memory cuda:0=24GiB`) what the GPU's `max_memory`
    /// leaves once the weights placed there and the KV cache (the executor's `cacheDType`, on the GPU) are taken out (the prompt rows stay
    /// on the host). `deviceBudget` replaces that GPU's `max_memory` for the plan (the executor's own limit stays).
    /// The result also holds the phases and their memory, as `omni plan` prints them.
    public func plannedChunks(for input: ThinkerInput, maxNewTokens: Int, requested: ChunkSizes = ChunkSizes(),
                              deviceBudget: Int? = nil) throws -> ActivationPlanner.Result {
        var workload = try Workload(input, newTokens: maxNewTokens)
        if input.hasFeatures { workload.largestPosition = CheckpointLimits.largestPosition(try positions(input)) }
        let components = Set(plan.units.map(\.component))
        let planner = try ActivationPlanner(config: config, workload: workload, options: options, registry: registry,
                                        infos: weights.source.names.compactMap { weights.source.info($0) },
                                        threads: ProcessInfo.processInfo.activeProcessorCount, components: components,
                                        computeDevice: executor.device.id)
        let t = config.thinker.text
        let kv = Checked(t.layers) * 2 * t.kvHeads * t.headDim * (Checked(workload.promptTokens) + maxNewTokens)
            * executor.cacheDType.blockBytes
        let device = executor.device.id
        if device != .cpu, let gpu = deviceBudget ?? plan.maxMemory[device] {
            return planner.choose(requested: requested, budget: (Checked(gpu) - plan.residentWeightBytes(on: device) - kv).value ?? -1)
        }
        guard let cpu = plan.maxMemory[.cpu] else { return planner.choose(requested: requested, budget: nil) }
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
