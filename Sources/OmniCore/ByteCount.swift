/// A byte count that prints in binary units (`1.5 GiB`) and parses `8GiB`, `512MB`, `1e9`, `100`.
public struct ByteCount: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var bytes: Int
    public init(_ bytes: Int) { self.bytes = bytes }

    public static func < (a: ByteCount, b: ByteCount) -> Bool { a.bytes < b.bytes }

    public var description: String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(bytes)
        var i = 0
        while abs(v) >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(bytes) B" : String(format: "%.2f %@", v, units[i])
    }

    /// Parses a size: a number with an optional unit (B, KB/MB/GB/TB decimal, KiB/MiB/GiB/TiB binary).
    public init?(parsing text: String) {
        let s = text.trimmingCharacters(in: .whitespaces)
        let digits = s.prefix { "0123456789.eE+".contains($0) }
        guard let value = Double(digits), value >= 0 else { return nil }
        let unit = s.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let scale: Double
        switch unit {
        case "", "b": scale = 1
        case "k", "kb": scale = 1e3
        case "m", "mb": scale = 1e6
        case "g", "gb": scale = 1e9
        case "t", "tb": scale = 1e12
        case "kib": scale = 1024
        case "mib": scale = 1024 * 1024
        case "gib": scale = 1024 * 1024 * 1024
        case "tib": scale = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let b = value * scale
        guard b < 9e18 else { return nil }
        self.bytes = Int(b)
    }
}

import Foundation
