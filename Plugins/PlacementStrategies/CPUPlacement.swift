import OmniCore

/// `device_map="cpu"`: every unit on `cpu` (unbounded unless a cpu budget is given).
public struct CPUPlacement: PlacementStrategy {
    /// `cpu`.
    public var name: String { "cpu" }

    /// Creates the strategy.
    public init() {}

    /// Puts everything on cpu; throws when the cpu budget is too small, naming the budget that would do.
    public func place(_ units: [PlacementUnit], budgets: [DeviceBudget]) throws -> PlacementPlan {
        try PlacementFill(devices: [budgets.budget(for: .cpu)]).place(units, strategy: name)
    }
}
