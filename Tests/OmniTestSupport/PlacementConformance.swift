import OmniCore

/// The conformance checks every `PlacementStrategy` must pass, for any units and budgets it accepts.
public enum PlacementConformance {
    /// What is wrong with `plan` for `units` under `budgets` (empty when it conforms): every unit assigned
    /// exactly once and nothing else, budgets respected, tied units on one device, and only listed devices
    /// used (cpu counts as listed when `budgets` has no cpu entry).
    public static func violations(_ plan: PlacementPlan, units: [PlacementUnit], budgets: [DeviceBudget]) -> [String] {
        var out: [String] = []
        let assigned = plan.assignments
        let prefixes = units.map(\.prefix)
        if Set(assigned.map(\.prefix)) != Set(prefixes) || assigned.count != units.count {
            let missing = Set(prefixes).subtracting(assigned.map(\.prefix)).sorted()
            let extra = Set(assigned.map(\.prefix)).subtracting(prefixes).sorted()
            out.append("assignments differ from units: missing \(missing), extra \(extra)")
        }
        var used: [DeviceID: Int] = [:]
        var group: [String: DeviceID] = [:]
        let where_ = Dictionary(assigned.map { ($0.prefix, $0.device) }, uniquingKeysWith: { a, _ in a })
        for u in units {
            guard let d = where_[u.prefix] else { continue }
            used[d, default: 0] += u.bytes
            if let g = u.tiedGroup {
                if let other = group[g], other != d { out.append("tied group \(g) split over \(other) and \(d)") }
                group[g] = group[g] ?? d
            }
        }
        var listed = Set(budgets.map(\.device))
        if !listed.contains(.cpu) { listed.insert(.cpu) }
        for (d, bytes) in used {
            if !listed.contains(d) { out.append("uses unlisted device \(d)") }
            if let b = budgets.first(where: { $0.device == d })?.bytes, bytes > b {
                out.append("\(d) holds \(bytes) bytes over its budget of \(b)")
            }
        }
        return out
    }
}
