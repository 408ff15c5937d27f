/// Overflow-checked integer arithmetic for every size, count, length or byte total computed from input
/// (command-line options, config values, file headers, memory estimates). A value that overflowed carries
/// no number, so an estimate over hostile input never traps; reading it with `get(or:)` throws the error
/// the caller names (the argument, key or file and the accepted range).
///
///     let bytes = try (Checked(layers) * 2 * kvHeads * headDim * tokens * 4)
///         .get(or: .invalidArgument(name: "--max-new-tokens", expected: "…", actual: "\(n)"))
public struct Checked: Sendable, Hashable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The value, or nil when an operation on the way overflowed `Int` (or divided by zero).
    public let value: Int?

    /// A checked value.
    public init(_ value: Int) { self.value = value }

    /// A value that has overflowed.
    public static let overflow = Checked(nil)

    private init(_ value: Int?) { self.value = value }

    /// A checked integer literal.
    public init(integerLiteral value: Int) { self.value = value }

    /// A checked value from a `Double` (`--audio-seconds`); NaN, infinities and magnitudes beyond `Int` overflow.
    public init(exactly d: Double, rounding rule: FloatingPointRoundingRule = .up) {
        let r = d.rounded(rule)
        value = r.isFinite && abs(r) < 9.2e18 ? Int(r) : nil
    }

    /// Whether the value overflowed.
    public var overflowed: Bool { value == nil }

    /// The value, or `error` when it overflowed.
    public func get(or error: @autoclosure () -> OmniError) throws -> Int {
        guard let value else { throw error() }
        return value
    }

    /// The value, or `Int.max` when it overflowed (for comparisons against a budget: too large either way).
    public var saturated: Int { value ?? .max }

    public var description: String { value.map(String.init) ?? "overflow" }

    private static func combine(_ a: Checked, _ b: Checked, _ op: (Int, Int) -> (Int, Bool)) -> Checked {
        guard let x = a.value, let y = b.value else { return .overflow }
        let (r, o) = op(x, y)
        return o ? .overflow : Checked(r)
    }

    public static func + (a: Checked, b: Checked) -> Checked { combine(a, b) { $0.addingReportingOverflow($1) } }
    public static func - (a: Checked, b: Checked) -> Checked { combine(a, b) { $0.subtractingReportingOverflow($1) } }
    public static func * (a: Checked, b: Checked) -> Checked { combine(a, b) { $0.multipliedReportingOverflow(by: $1) } }
    public static func / (a: Checked, b: Checked) -> Checked {
        combine(a, b) { $1 == 0 ? (0, true) : $0.dividedReportingOverflow(by: $1) }
    }
    public static func + (a: Checked, b: Int) -> Checked { a + Checked(b) }
    public static func - (a: Checked, b: Int) -> Checked { a - Checked(b) }
    public static func * (a: Checked, b: Int) -> Checked { a * Checked(b) }
    public static func / (a: Checked, b: Int) -> Checked { a / Checked(b) }
    public static func + (a: Int, b: Checked) -> Checked { Checked(a) + b }
    public static func * (a: Int, b: Checked) -> Checked { Checked(a) * b }
    public static func += (a: inout Checked, b: Checked) { a = a + b }
    public static func += (a: inout Checked, b: Int) { a = a + b }

    /// The larger of two values (an overflowed one is larger than any).
    public static func max(_ a: Checked, _ b: Checked) -> Checked {
        guard let x = a.value, let y = b.value else { return .overflow }
        return Checked(Swift.max(x, y))
    }

    /// The product of `factors`, checked.
    public static func product<S: Sequence>(_ factors: S) -> Checked where S.Element == Int {
        factors.reduce(Checked(1)) { $0 * $1 }
    }

    /// The sum of `terms`, checked.
    public static func sum<S: Sequence>(_ terms: S) -> Checked where S.Element == Int {
        terms.reduce(Checked(0)) { $0 + $1 }
    }
}
