import OmniCore

/// An explicit device map (`{"thinker.model.layers.0": "cpu", "talker": "disk", ...}`): the longest map key
/// that is the unit's prefix (or an ancestor of it, or `""`) decides. Every unit must be covered; a key
/// inside a unit that names another device would split a no-split unit and is refused; tied units must agree;
/// devices other than cpu must be among the budgets (callers list `disk` to allow it).
public struct ExplicitPlacement: PlacementStrategy {
    /// Module prefix → device.
    public var map: [String: DeviceID]

    /// `explicit`.
    public var name: String { "explicit" }

    /// Creates a map.
    public init(map: [String: DeviceID]) { self.map = map }

    /// Parses `prefix=device,prefix=device` (`thinker=cpu,talker=disk`); nil when malformed.
    public init?(parsing text: String) {
        var m: [String: DeviceID] = [:]
        for item in text.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let d = DeviceID(parsing: kv[1]), m[kv[0]] == nil else { return nil }
            m[kv[0]] = d
        }
        guard !m.isEmpty else { return nil }
        map = m
    }

    /// Follows the map; checks coverage, splits, tied groups and budgets.
    public func place(_ units: [PlacementUnit], budgets: [DeviceBudget]) throws -> PlacementPlan {
        var plan = PlacementPlan()
        var used: [DeviceID: Int] = [:]
        var groupDevice: [String: (DeviceID, String)] = [:]
        for u in units {
            guard let d = device(for: u.prefix) else {
                throw OmniError.placement(strategy: name, reason: "unit '\(u.prefix)' is not covered by the map "
                    + "(keys: \(map.keys.sorted().joined(separator: ", ")))", smallestBudgets: [])
            }
            if d != .cpu, !budgets.contains(where: { $0.device == d }) {
                throw OmniError.placement(strategy: name, reason: "unit '\(u.prefix)' is mapped to \(d), which is "
                    + "not among the devices given (\(budgets.map(\.device.description).joined(separator: ", ")))",
                    smallestBudgets: [])
            }
            if let inner = map.first(where: { $0.key.hasPrefix(u.prefix + ".") && $0.value != d }) {
                throw OmniError.placement(strategy: name, reason: "key '\(inner.key)' → \(inner.value) would split "
                    + "the no-split unit '\(u.prefix)' (→ \(d))", smallestBudgets: [])
            }
            if let g = u.tiedGroup {
                if let (other, first) = groupDevice[g], other != d {
                    throw OmniError.placement(strategy: name, reason: "tied units '\(first)' (→ \(other)) and "
                        + "'\(u.prefix)' (→ \(d)) share weights and must be on one device", smallestBudgets: [])
                }
                groupDevice[g] = groupDevice[g] ?? (d, u.prefix)
            }
            used[d, default: 0] += u.bytes
            plan.assign(u.prefix, to: d)
        }
        let over = budgets.filter { b in b.bytes.map { (used[b.device] ?? 0) > $0 } ?? false }
        if !over.isEmpty {
            let reason = over.map { "\($0.device) gets \(ByteCount(used[$0.device] ?? 0)) of a "
                + "\(ByteCount($0.bytes ?? 0)) budget" }.joined(separator: ", ")
            throw OmniError.placement(strategy: name, reason: reason, smallestBudgets: over.map {
                "\($0.device)=\(ByteCount(used[$0.device] ?? 0)) (\(used[$0.device] ?? 0) bytes)"
            })
        }
        return plan
    }

    /// The device of the longest key covering `prefix`.
    func device(for prefix: String) -> DeviceID? {
        var best: (Int, DeviceID)?
        for (k, d) in map where k.isEmpty || prefix == k || prefix.hasPrefix(k + ".") {
            if best.map({ k.count > $0.0 }) ?? true { best = (k.count, d) }
        }
        return best?.1
    }
}
