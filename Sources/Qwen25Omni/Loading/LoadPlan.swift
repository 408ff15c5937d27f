import Foundation
import OmniCore

/// Everything decided before any tensor data is read: config, dtypes, units, where each unit goes, and the
/// memory it will need. `omni plan` prints it; loading follows it.
public struct LoadPlan: Sendable {
    /// Where the model was found (nil when planned from a config and tensor list alone).
    public var directory: ModelDirectory?
    /// The parsed config.
    public var config: OmniConfig
    /// Dtype per component.
    public var dtypePolicy: DTypePolicy
    /// Whether talker and token2wav are built.
    public var audioOutput: Bool
    /// Units in model order, with their tensors.
    public var units: [PlannedUnit]
    /// Checkpoint tensors not loaded (talker and token2wav without audio output).
    public var skippedTensors: [String]
    /// The strategy's name.
    public var strategyName: String
    /// The `max_memory` given (bytes for everything on the device).
    public var maxMemory: [DeviceID: Int]
    /// Weight budgets handed to the strategy (cpu: max memory less KV cache, activations and paging reserve).
    public var budgets: [DeviceBudget]
    /// Unit → device.
    public var placement: PlacementPlan
    /// KV cache and activation estimates.
    public var estimates: MemoryEstimates
    /// cpu bytes kept for paging disk units in: the two largest disk units (the running one and one prefetched).
    public var pagingReserve: Int
    /// The GPU that runs every graph (`--device-map cuda:0`, or `auto` with one present), nil for the cpu executor.
    /// Its weights are uploaded there and stay, and the KV caches and activations live there; the prompt rows and
    /// the weights read before upload stay on the host.
    public var computeDevice: DeviceID?

    /// Weight bytes (at run dtype) placed on `device`.
    public func weightBytes(on device: DeviceID) -> Int {
        units.filter { placement.device(for: $0.unit.prefix) == device }.reduce(0) { $0 + $1.unit.bytes }
    }

    /// Weight bytes resident on `device` while it runs: every unit on the compute device (each is uploaded there
    /// once), otherwise what is placed on it.
    public func residentWeightBytes(on device: DeviceID) -> Int {
        device == computeDevice ? units.reduce(0) { $0 + $1.unit.bytes } : weightBytes(on: device)
    }

    /// Every device the plan uses, cpu first.
    public var devices: [DeviceID] {
        var seen: [DeviceID] = [.cpu]
        for (_, d) in placement.assignments where !seen.contains(d) { seen.append(d) }
        if let g = computeDevice, !seen.contains(g) { seen.append(g) }
        return seen
    }

    /// What the run keeps on the cpu besides weights: KV caches, activations and prompt rows, or only the prompt
    /// rows when a GPU computes.
    var cpuRuntime: Int { computeDevice == nil ? estimates.runtime : estimates.promptRows }

    /// Resident cpu bytes the plan predicts at peak: cpu weights + KV cache + activations + prompt rows + paging reserve
    /// (KV cache and activations on the compute device when there is one).
    public var cpuPeak: Int {
        (Checked(weightBytes(on: .cpu)) + cpuRuntime + pagingReserve).saturated
    }

    /// Bytes the compute device holds at peak: every weight, the KV caches and the activations (nil without one).
    public var computePeak: Int? {
        computeDevice.map { (Checked(residentWeightBytes(on: $0)) + estimates.kvCache + estimates.activations).saturated }
    }

    /// Reads `config.json` from `directory` and plans.
    public static func make(directory: ModelDirectory, infos: [TensorInfo], options: LoadOptions,
                            input: InputSize = InputSize(), registry: PluginRegistry,
                            explicitPlacement: (([String: DeviceID]) -> any PlacementStrategy)? = nil,
                            components: Set<Component> = Set(Component.allCases),
                            computeDevice: DeviceID? = nil) throws -> LoadPlan {
        let config = try OmniConfig.load(directory: directory.folder)
        return try make(directory: directory, config: config, infos: infos, options: options, input: input,
                        registry: registry, explicitPlacement: explicitPlacement, components: components,
                        computeDevice: computeDevice)
    }

    /// Plans from a config and the checkpoint's tensor headers (`WeightSource.info` of every name).
    ///
    /// - Parameters:
    ///   - input: the prompt and media sizes the KV cache and activation estimates are for.
    ///   - registry: resolves `.strategy(name)` device maps and the attention backend's scratch estimate.
    ///   - explicitPlacement: makes the strategy for `.explicit(map)` device maps (the composition root passes
    ///     `BuiltinPlugins.explicitPlacement(map:)`; Qwen25Omni does not import plugins).
    ///   - components: the components that will be loaded (`OmniModel.builtComponents` for what runs today).
    ///   - computeDevice: the GPU that runs every graph (`ComputeSelection` in SwiftOmni decides it from the device
    ///     map); its `max_memory` then bounds weights, KV caches and activations, and the cpu's the rest.
    public static func make(directory: ModelDirectory?, config: OmniConfig, infos: [TensorInfo], options: LoadOptions,
                            input: InputSize = InputSize(), registry: PluginRegistry,
                            explicitPlacement: (([String: DeviceID]) -> any PlacementStrategy)? = nil,
                            components: Set<Component> = Set(Component.allCases),
                            computeDevice: DeviceID? = nil) throws -> LoadPlan {
        var options = options
        options.dtype = options.dtype.tied(config)   // what every weight below is sized at, and the plan records
        let audioOutput = options.enableAudioOutput && config.enableAudioOutput && config.talker != nil
            && config.token2wav != nil
        // Limits from the model itself, before anything is sized: layers present, positions.
        try CheckpointLimits.check(config: config, names: infos.map(\.name),
                                   file: directory?.folder.appendingPathComponent("config.json").path ?? "config.json")
        try input.validate()
        // Bounded by the prompt's largest M-RoPE position, not its rows (a video's tokens share positions).
        let workload = Workload(input, vision: config.thinker.vision, positionIDPerSeconds: config.thinker.positionIDPerSeconds)
        try CheckpointLimits.checkPositions(largestPosition: workload.largestPosition ?? (input.promptTokens - 1),
                                            maxNewTokens: input.maxNewTokens, config: config, promptName: "prompt length")
        var (units, skipped) = try WeightUnits.make(infos: infos, config: config, dtype: options.dtype,
                                                    enableAudioOutput: audioOutput)
        // Components that will not be loaded (not built by this version) take no budget.
        skipped += units.filter { !components.contains($0.component) }.flatMap(\.tensorNames)
        units.removeAll { !components.contains($0.component) }
        let strategy: any PlacementStrategy
        switch options.deviceMap {
        case let .strategy(name): strategy = try registry.placement(named: name)
        case let .explicit(map):
            guard let make = explicitPlacement else {
                throw OmniError.unsupported(what: "an explicit device map", reasons: [
                    "pass explicitPlacement: BuiltinPlugins.explicitPlacement(map:) (or your own) to LoadPlan.make"])
            }
            strategy = make(map)
        }
        var scratch: ((AttentionShape) -> Int)?
        let threads = ProcessInfo.processInfo.activeProcessorCount
        if let name = options.attentionChain(for: .thinker).first, let backend = try? registry.attention(named: name) {
            scratch = { backend.scratchBytes(for: $0, threads: threads) }
        }
        // Weights first: placed as if the smallest chunks ran, then the chunks grow into what the cpu budget has left.
        let planner = try ActivationPlanner(config: config, workload: workload, options: options,
                                        registry: registry, infos: infos, threads: threads, components: Set(units.map(\.component)),
                                        computeDevice: computeDevice)
        let smallest = planner.smallest(requested: options.chunks)
        func estimates(_ thinker: ActivationPlanner.Result) throws -> MemoryEstimates {
            try MemoryEstimates(config: config, input: input, audioOutput: audioOutput, thinker: thinker, attentionScratch: scratch,
                                cacheDType: KVCache.elementType(precision: options.computePrecision, device: computeDevice ?? .cpu))
        }
        var plan = LoadPlan(directory: directory, config: config, dtypePolicy: options.dtype, audioOutput: audioOutput,
                            units: units, skippedTensors: skipped, strategyName: strategy.name,
                            maxMemory: options.maxMemory, budgets: [], placement: PlacementPlan(),
                            estimates: try estimates(smallest), pagingReserve: 0, computeDevice: computeDevice)
        switch plan.place(strategy, maxMemory: options.maxMemory) {
        case .success: break
        case let .failure(error):
            guard case let .placement(name, reason, _) = error else { throw error }
            // The compute GPU's own overflow carries its hint; the rest are the cpu and disk budgets that would work.
            if plan.computeOverflow(options.maxMemory) { throw error }
            throw OmniError.placement(strategy: name, reason: reason,
                                      smallestBudgets: plan.smallestMaxMemory(strategy, maxMemory: options.maxMemory))
        }
        let chosen = planner.choose(requested: options.chunks, budget: plan.activationBudget)
        guard chosen.chunks != smallest.chunks else { return plan }
        var grown = plan
        grown.estimates = try estimates(chosen)
        if case .success = grown.place(strategy, maxMemory: options.maxMemory) { return grown }
        return plan
    }

    /// Bytes the thinker side's activations may take once the rest is placed: on the cpu, its `max_memory` less
    /// weights, paging reserve, KV caches and prompt rows; on a compute GPU, its `max_memory` less every weight and
    /// the KV caches (nil without that device's budget: unbounded).
    public var activationBudget: Int? {
        if let g = computeDevice {
            guard let gpu = maxMemory[g] else { return nil }
            return (Checked(gpu) - residentWeightBytes(on: g) - estimates.kvCache).value ?? -1
        }
        guard let cpu = maxMemory[.cpu] else { return nil }
        return (Checked(cpu) - weightBytes(on: .cpu) - pagingReserve - estimates.kvCache - estimates.promptRows).value ?? -1
    }

    /// Derives weight budgets from `maxMemory` and places; when units land on disk, reserves cpu room to page
    /// them in and places again (until the reserve is stable).
    mutating func place(_ strategy: any PlacementStrategy, maxMemory: [DeviceID: Int]) -> Result<Void, OmniError> {
        if computeOverflow(maxMemory), let g = computeDevice, let budget = maxMemory[g], let peak = computePeak {
            return .failure(.placement(strategy: strategy.name, reason: "\(g)=\(ByteCount(budget)) does not hold every weight "
                + "(\(ByteCount(residentWeightBytes(on: g)))), the KV cache (\(ByteCount(estimates.kvCache))) and the activations "
                + "(\(ByteCount(estimates.activations))) of this input", smallestBudgets: ["--max-memory \(g)=\(ByteCount(peak)) (\(peak) bytes)"]))
        }
        let runtime = cpuRuntime
        var reserve = 0
        let bound = units.map(\.unit.bytes).sorted(by: >).prefix(2).reduce(0, +)
        for attempt in 0..<5 {
            if attempt == 4 { reserve = bound }  // the reserve never exceeds the two largest units
            var budgets: [DeviceBudget] = []
            for (d, bytes) in maxMemory.sorted(by: { $0.key < $1.key }) where d != .cpu && d != .disk {
                budgets.append(DeviceBudget(device: d, bytes: bytes))
            }
            let cpu = maxMemory[.cpu].map { (Checked($0) - runtime - reserve).value ?? -1 }
            if let c = cpu, c < 0 {
                return .failure(.placement(strategy: strategy.name, reason: "cpu=\(ByteCount(maxMemory[.cpu] ?? 0)) "
                    + "does not hold the KV cache and activations alone (\(ByteCount((Checked(runtime) + reserve).saturated)))",
                    smallestBudgets: []))
            }
            budgets.append(DeviceBudget(device: .cpu, bytes: cpu))
            budgets.append(DeviceBudget(device: .disk, bytes: maxMemory[.disk]))
            let placed: PlacementPlan
            do { placed = try strategy.place(units.map(\.unit), budgets: budgets) } catch let e as OmniError {
                return .failure(e)
            } catch {
                return .failure(.placement(strategy: strategy.name, reason: "\(error)", smallestBudgets: []))
            }
            let onDisk = units.filter { placed.device(for: $0.unit.prefix) == .disk }.map(\.unit.bytes).sorted(by: >)
            let needed = onDisk.prefix(2).reduce(0, +)
            self.budgets = budgets
            self.placement = placed
            self.pagingReserve = needed
            if needed <= reserve { return .success(()) }
            reserve = needed
        }
        return .failure(.placement(strategy: strategy.name, reason: "no stable paging reserve", smallestBudgets: []))
    }

    /// Whether the compute GPU's budget is below what it holds at peak (every weight, KV caches, activations).
    func computeOverflow(_ maxMemory: [DeviceID: Int]) -> Bool {
        guard let g = computeDevice, let budget = maxMemory[g], let peak = computePeak else { return false }
        return peak > budget
    }

    /// For cpu and disk (when given), the smallest `max_memory` value that makes the plan fit, others unchanged.
    func smallestMaxMemory(_ strategy: any PlacementStrategy, maxMemory: [DeviceID: Int]) -> [String] {
        let total = (Checked.sum(units.map(\.unit.bytes)) * 2 + estimates.runtime).saturated
        var out: [String] = []
        for device in [DeviceID.cpu, .disk] {
            guard let current = maxMemory[device] else { continue }
            var trial = self
            func works(_ b: Int) -> Bool {
                var m = maxMemory
                m[device] = b
                if case .success = trial.place(strategy, maxMemory: m) { return true }
                return false
            }
            var lo = current, hi = max(total, current)
            guard works(hi) else { continue }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2
                if works(mid) { hi = mid } else { lo = mid }
            }
            out.append("--max-memory \(device)=\(ByteCount(hi)) (\(hi) bytes)")
        }
        return out
    }
}
