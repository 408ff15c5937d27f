import OmniCore

/// Units that must land on one device: a unit alone, or every unit of a tied group (placed where the
/// group's first member is in model order).
struct PlacementBlock {
    var units: [PlacementUnit]
    var bytes: Int { units.reduce(0) { $0 + $1.bytes } }
    var label: String {
        units.count == 1 ? "'\(units[0].prefix)'" : "tied group '\(units[0].tiedGroup ?? "")' ("
            + units.map(\.prefix).joined(separator: ", ") + ")"
    }

    /// Groups `units` into blocks in model order.
    static func blocks(_ units: [PlacementUnit]) -> [PlacementBlock] {
        var out: [PlacementBlock] = []
        var groupIndex: [String: Int] = [:]
        for u in units {
            if let g = u.tiedGroup {
                if let i = groupIndex[g] { out[i].units.append(u); continue }
                groupIndex[g] = out.count
            }
            out.append(PlacementBlock(units: [u]))
        }
        return out
    }
}

/// The fill engine every built-in strategy shares: walk blocks in model order, keep a device pointer that
/// only moves forward, and move it on when the block does not fit the current device's budget.
struct PlacementFill {
    /// Devices in fill order with their weight budgets (nil: unbounded).
    var devices: [DeviceBudget]
    /// For a block starting at `offset` bytes with `bytes` bytes, the earliest device index it may use
    /// (balanced placement pushes blocks forward to even out the load; sequential returns 0).
    var earliest: (_ offset: Int, _ bytes: Int) -> Int = { _, _ in 0 }

    /// Places `units`, or says which block did not fit and what each device had left.
    func run(_ units: [PlacementUnit]) -> Result<PlacementPlan, OmniError> {
        var plan = PlacementPlan()
        var used = [Int](repeating: 0, count: devices.count)
        var pointer = 0
        var offset = 0
        for block in PlacementBlock.blocks(units) {
            let b = block.bytes
            pointer = max(pointer, min(earliest(offset, b), devices.count - 1))
            while pointer < devices.count, let cap = devices[pointer].bytes, used[pointer] + b > cap { pointer += 1 }
            guard pointer < devices.count else {
                let state = devices.enumerated().map { i, d in
                    "\(d.device) holds \(ByteCount(used[i]))" + (d.bytes.map { " of \(ByteCount($0))" } ?? "")
                }
                return .failure(.placement(strategy: "", reason: "\(block.label) (\(ByteCount(b))) does not fit; "
                    + (state.isEmpty ? "no devices" : state.joined(separator: ", ")), smallestBudgets: []))
            }
            used[pointer] += b
            offset += b
            for u in block.units { plan.assign(u.prefix, to: devices[pointer].device) }
        }
        return .success(plan)
    }

    /// Runs, and on failure names the strategy and, for each bounded device, the smallest budget that would
    /// work with the other budgets unchanged (found by bisection and verified by a run).
    func place(_ units: [PlacementUnit], strategy: String) throws -> PlacementPlan {
        switch run(units) {
        case let .success(plan): return plan
        case let .failure(error):
            guard case let .placement(_, reason, _) = error else { throw error }
            throw OmniError.placement(strategy: strategy, reason: reason, smallestBudgets: smallestBudgets(units))
        }
    }

    private func smallestBudgets(_ units: [PlacementUnit]) -> [String] {
        let total = units.reduce(0) { $0 + $1.bytes }
        var out: [String] = []
        for (i, d) in devices.enumerated() {
            guard let current = d.bytes else { continue }
            var trial = self
            func works(_ b: Int) -> Bool {
                trial.devices[i].bytes = b
                if case .success = trial.run(units) { return true }
                return false
            }
            guard works(max(total, current)) else { continue }
            var lo = current, hi = max(total, current)  // lo fails, hi works
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2
                if works(mid) { hi = mid } else { lo = mid }
            }
            out.append("\(d.device)=\(ByteCount(hi)) (\(hi) bytes)")
        }
        return out
    }
}

extension Array where Element == DeviceBudget {
    /// The budget for `device`: the listed one, or unbounded when it is not listed.
    func budget(for device: DeviceID) -> DeviceBudget {
        first { $0.device == device } ?? DeviceBudget(device: device, bytes: nil)
    }

    /// Budgets other than cpu and disk (accelerators), in the given order.
    var accelerators: [DeviceBudget] { filter { $0.device.kind != "cpu" && $0.device != .disk } }
}
