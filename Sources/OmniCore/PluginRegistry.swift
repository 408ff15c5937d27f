import Foundation

/// The one list of plugins, filled explicitly at the composition root (CLI, samples, tests).
///
/// A value type: code that needs plugins takes a registry; there is no global. Registering a plugin
/// whose name is taken replaces the earlier one (so an app can override a built-in) and keeps its place.
public struct PluginRegistry: Sendable {
    public private(set) var weightFormats: [any WeightFormat] = []
    public private(set) var converters: [any DTypeConverter] = []
    public private(set) var attentionBackends: [any AttentionBackend] = []
    public private(set) var placementStrategies: [any PlacementStrategy] = []
    public private(set) var mediaDecoders: [any MediaDecoder] = []
    public private(set) var computeDevices: [any ComputeDevicePlugin] = []

    public init() {}

    /// Adds or replaces a weight format.
    public mutating func register(_ p: any WeightFormat) { Self.upsert(&weightFormats, p, \.name) }
    /// Adds or replaces a dtype converter.
    public mutating func register(_ p: any DTypeConverter) { Self.upsert(&converters, p, \.name) }
    /// Adds or replaces an attention backend.
    public mutating func register(_ p: any AttentionBackend) { Self.upsert(&attentionBackends, p, \.name) }
    /// Adds or replaces a placement strategy.
    public mutating func register(_ p: any PlacementStrategy) { Self.upsert(&placementStrategies, p, \.name) }
    /// Adds or replaces a media decoder.
    public mutating func register(_ p: any MediaDecoder) { Self.upsert(&mediaDecoders, p, \.name) }

    /// Adds or replaces a compute device plugin (by device kind).
    public mutating func register(_ p: any ComputeDevicePlugin) { Self.upsert(&computeDevices, p, \.deviceKind) }

    /// The compute device plugin for `kind` (`cuda`).
    public func computeDevice(kind: String) throws -> any ComputeDevicePlugin {
        guard let d = computeDevices.first(where: { $0.deviceKind == kind }) else {
            throw OmniError.pluginNotFound(kind: "compute device", name: kind, registered: computeDevices.map(\.deviceKind))
        }
        return d
    }

    private static func upsert<T>(_ list: inout [T], _ item: T, _ name: (T) -> String) {
        if let i = list.firstIndex(where: { name($0) == name(item) }) { list[i] = item } else { list.append(item) }
    }

    /// The weight format named `name`.
    public func weightFormat(named name: String) throws -> any WeightFormat {
        guard let f = weightFormats.first(where: { $0.name == name }) else {
            throw OmniError.pluginNotFound(kind: "weight format", name: name, registered: weightFormats.map(\.name))
        }
        return f
    }

    /// The first readable format that recognizes `url`.
    public func weightFormat(for url: URL) throws -> any WeightFormat {
        guard let f = weightFormats.first(where: { $0.capabilities.canRead && $0.canOpen(url) }) else {
            throw OmniError.unsupported(what: "opening \(url.path)",
                                        reasons: ["no registered weight format recognizes it; registered: "
                                                  + weightFormats.map(\.name).joined(separator: ", ")])
        }
        return f
    }

    /// A converter for `from` → `to`.
    public func converter(from: DType, to: DType) throws -> any DTypeConverter {
        guard let c = converters.first(where: { $0.supports(from: from, to: to) }) else {
            let all = converters.map { "\($0.name) (\($0.conversions.map(\.description).sorted().joined(separator: " ")))" }
            throw OmniError.pluginNotFound(kind: "dtype converter", name: "\(from)→\(to)", registered: all)
        }
        return c
    }

    /// The attention backend named `name`.
    public func attention(named name: String) throws -> any AttentionBackend {
        guard let b = attentionBackends.first(where: { $0.name == name }) else {
            throw OmniError.pluginNotFound(kind: "attention backend", name: name,
                                           registered: attentionBackends.map(\.name))
        }
        return b
    }

    /// Picks the first backend of `chain` (then every other registered one) that supports the call,
    /// and says why each earlier one was skipped (`"flash_attention_2 → eager: explicit mask not supported"`).
    public func selectAttention(chain: [String], shape: AttentionShape, mask: AttentionMask,
                                dtype: DType = .f32, device: DeviceID = .cpu) throws -> (backend: any AttentionBackend, log: [String]) {
        var log: [String] = []
        var reasons: [String] = []
        var names = chain
        for b in attentionBackends where !names.contains(b.name) { names.append(b.name) }
        for (i, name) in names.enumerated() {
            guard let b = attentionBackends.first(where: { $0.name == name }) else {
                let r = "\(name): not registered"
                reasons.append(r)
                if i < chain.count { log.append(r) }
                continue
            }
            if let why = b.unsupportedReason(shape: shape, mask: mask, dtype: dtype, device: device) {
                reasons.append("\(name): \(why)")
                let next = names.dropFirst(i + 1).first ?? "none"
                log.append("\(name) → \(next): \(why)")
                continue
            }
            return (b, log)
        }
        throw OmniError.unsupported(what: "attention (\(shape))", reasons: reasons)
    }

    /// The placement strategy named `name`.
    public func placement(named name: String) throws -> any PlacementStrategy {
        guard let s = placementStrategies.first(where: { $0.name == name }) else {
            throw OmniError.pluginNotFound(kind: "placement strategy", name: name,
                                           registered: placementStrategies.map(\.name))
        }
        return s
    }

    /// The first media decoder that decodes `kind` and recognizes `url`; the error lists what is registered.
    public func mediaDecoder(for url: URL, as kind: MediaKind) throws -> any MediaDecoder {
        guard let d = mediaDecoders.first(where: { $0.capabilities.kinds.contains(kind) && $0.canOpen(url, as: kind) }) else {
            let all = mediaDecoders.map { "\($0.name) (\($0.capabilities.formats.joined(separator: " ")))" }
            throw OmniError.unsupported(what: "decoding \(url.path) as \(kind)",
                                        reasons: ["no registered media decoder recognizes it; registered: "
                                                  + (all.isEmpty ? "(none)" : all.joined(separator: ", "))])
        }
        return d
    }
}
