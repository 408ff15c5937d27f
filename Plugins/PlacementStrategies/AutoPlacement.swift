import OmniCore

/// `device_map="auto"`, as accelerate does it: balanced across accelerators when any are listed, spilling to
/// cpu and then disk; with no accelerators, sequential cpu → disk.
public struct AutoPlacement: PlacementStrategy {
    /// `auto`.
    public var name: String { "auto" }

    /// Creates the strategy.
    public init() {}

    /// Places; disk is used only when a disk budget is listed (callers add an unbounded one to allow paging).
    public func place(_ units: [PlacementUnit], budgets: [DeviceBudget]) throws -> PlacementPlan {
        let accelerators = budgets.accelerators
        let devices = accelerators + [budgets.budget(for: .cpu)] + budgets.filter { $0.device == .disk }
        let earliest = accelerators.count > 1 ? BalancedPlacement.evenSplit(units, over: accelerators.count)
            : { _, _ in 0 }
        return try PlacementFill(devices: devices, earliest: earliest).place(units, strategy: name)
    }
}
