import OmniCore

/// `device_map="balanced"`: spread the units evenly (by bytes, in model order, contiguous runs) across
/// the non-disk devices; never uses disk. A block goes to the device its byte midpoint falls in, or a
/// later one when that device's budget is full.
public struct BalancedPlacement: PlacementStrategy {
    /// `balanced`.
    public var name: String { "balanced" }

    /// Creates the strategy.
    public init() {}

    /// Places evenly; with only cpu (or no budgets) that is everything on cpu.
    public func place(_ units: [PlacementUnit], budgets: [DeviceBudget]) throws -> PlacementPlan {
        let memory = budgets.filter { $0.device != .disk }
        let devices = memory.isEmpty ? [budgets.budget(for: .cpu)] : memory
        return try PlacementFill(devices: devices, earliest: Self.evenSplit(units, over: devices.count))
            .place(units, strategy: name)
    }

    /// The earliest-device rule that splits `units`' bytes evenly over the first `n` devices.
    static func evenSplit(_ units: [PlacementUnit], over n: Int) -> (Int, Int) -> Int {
        let total = max(1, units.reduce(0) { $0 + $1.bytes })
        return { offset, bytes in
            guard n > 1 else { return 0 }
            let mid = Double(offset) + Double(bytes) / 2
            return min(n - 1, Int(mid * Double(n) / Double(total)))
        }
    }
}
