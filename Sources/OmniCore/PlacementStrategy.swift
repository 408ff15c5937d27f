/// A unit of a model that placement keeps whole (a decoder layer, a vision block, DiT, BigVGAN…).
public struct PlacementUnit: Sendable, Hashable {
    /// Checkpoint prefix (`thinker.model.layers.3`); every tensor under it goes to one device.
    public var prefix: String
    /// Component it belongs to (`thinker`, `audio_tower`, `vision_tower`, `talker`, `token2wav`).
    public var component: String
    /// Weight bytes at the dtype it will run in.
    public var bytes: Int
    /// Units with the same non-nil group are tied (share weights) and must be placed together.
    public var tiedGroup: String?

    public init(prefix: String, component: String, bytes: Int, tiedGroup: String? = nil) {
        self.prefix = prefix
        self.component = component
        self.bytes = bytes
        self.tiedGroup = tiedGroup
    }
}

/// A device with the weight bytes placement may put on it.
public struct DeviceBudget: Sendable, Hashable {
    public var device: DeviceID
    /// Bytes available for weights; nil means unbounded.
    public var bytes: Int?
    public init(device: DeviceID, bytes: Int?) { self.device = device; self.bytes = bytes }
}

/// Where each unit goes.
public struct PlacementPlan: Sendable, Hashable {
    /// Unit prefix → device, in model order.
    public var assignments: [(prefix: String, device: DeviceID)] {
        order.map { ($0, map[$0]!) }
    }
    private var order: [String] = []
    private var map: [String: DeviceID] = [:]

    public init() {}

    /// Assigns `prefix` to `device` (re-assigning keeps the original order).
    public mutating func assign(_ prefix: String, to device: DeviceID) {
        if map[prefix] == nil { order.append(prefix) }
        map[prefix] = device
    }

    /// The device of the unit whose prefix covers `key` (longest match), or nil.
    public func device(for key: String) -> DeviceID? {
        var best: (Int, DeviceID)?
        for (p, d) in map where key == p || key.hasPrefix(p + ".") || p.isEmpty {
            if best == nil || p.count > best!.0 { best = (p.count, d) }
        }
        return best?.1
    }

    public static func == (a: PlacementPlan, b: PlacementPlan) -> Bool { a.order == b.order && a.map == b.map }
    public func hash(into h: inout Hasher) { h.combine(order); for p in order { h.combine(map[p]) } }
}

/// Maps units to devices under budgets (`cpu`, `sequential`, `balanced`, `auto`, explicit maps).
public protocol PlacementStrategy: Sendable {
    /// Name as users spell it in `device_map`.
    var name: String { get }
    /// Plans; throws `outOfMemory`-style errors that say the smallest budget that would work.
    func place(_ units: [PlacementUnit], budgets: [DeviceBudget]) throws -> PlacementPlan
}
