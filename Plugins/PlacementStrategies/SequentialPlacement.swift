import OmniCore

/// `device_map="sequential"`: fill the non-disk devices in the order given, each up to its budget, spill
/// to the next, then to `disk` when a disk budget is listed. Units keep model order across devices.
public struct SequentialPlacement: PlacementStrategy {
    /// `sequential`.
    public var name: String { "sequential" }

    /// Creates the strategy.
    public init() {}

    /// Places in order; with no budgets at all, everything goes to an unbounded cpu.
    public func place(_ units: [PlacementUnit], budgets: [DeviceBudget]) throws -> PlacementPlan {
        let memory = budgets.filter { $0.device != .disk }
        let ordered = (memory.isEmpty ? [budgets.budget(for: .cpu)] : memory) + budgets.filter { $0.device == .disk }
        return try PlacementFill(devices: ordered).place(units, strategy: name)
    }
}
