// XCTest helpers: compiled only where XCTest is (the cuda-check program links this target without it).
#if canImport(XCTest)
import Foundation
import OmniCore
import XCTest

/// Checks every `DTypeConverter` plugin must pass, whatever types it converts.
///
/// For every pair it declares: a conversion of whole blocks succeeds and is deterministic; zero elements is a
/// no-op; a count that is not a whole number of blocks of both types, or is negative, is a typed error (no
/// crash, nothing written past the end). Where the plugin converts f32 → X and X → f32, X → f32 → X is the
/// identity on everything X holds (a second round trip changes nothing), and f32 → X → f32 is within X's step.
/// A pair it does not declare is refused with a typed error.
public enum DTypeConverterConformance {
    /// Runs every check on `converter`.
    public static func check(_ converter: any DTypeConverter, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(converter.name.isEmpty, file: file, line: line)
        XCTAssertFalse(converter.conversions.isEmpty, "\(converter.name) declares no conversion", file: file, line: line)
        for pair in converter.conversions.sorted(by: { "\($0.from)\($0.to)" < "\($1.from)\($1.to)" }) {
            try checkPair(converter, pair.from, pair.to, file: file, line: line)
        }
        for pair in f32RoundTrips(converter) {
            try checkRoundTrip(converter, pair, file: file, line: line)
        }
        if let missing = undeclaredPair(converter) {
            XCTAssertThrowsError(try convert(converter, Array(repeating: 0, count: 64 * missing.from.blockBytes),
                                             missing.from, missing.to, count: 64),
                                 "\(converter.name) accepted undeclared \(missing.from)→\(missing.to)",
                                 file: file, line: line) { error in
                XCTAssertTrue(error is OmniError, "expected an OmniError, got \(error)", file: file, line: line)
            }
        }
    }

    /// Elements in one test conversion: a whole number of blocks of every type (32 and 256 divide it).
    static let elements = 512

    static func checkPair(_ c: any DTypeConverter, _ from: DType, _ to: DType, file: StaticString, line: UInt) throws {
        let label = "\(c.name) \(from)→\(to)"
        let src = sourceBytes(c, from, count: elements)
        let a = try convert(c, src, from, to, count: elements)
        let b = try convert(c, src, from, to, count: elements)
        XCTAssertEqual(a, b, "\(label): not deterministic", file: file, line: line)
        XCTAssertNoThrow(try convert(c, [], from, to, count: 0), "\(label): zero elements", file: file, line: line)
        let block = max(from.blockElements, to.blockElements)
        var bad = [-block]
        if block > 1 { bad.append(block + 1) }
        for count in bad {
            let bytes = Array(repeating: UInt8(0), count: max(0, 2 * block * from.blockBytes))
            XCTAssertThrowsError(try convert(c, bytes, from, to, count: count), "\(label): count \(count) accepted",
                                 file: file, line: line) { error in
                XCTAssertTrue(error is OmniError, "\(label): expected an OmniError, got \(error)", file: file, line: line)
            }
        }
    }

    /// The types X with both f32 → X and X → f32 declared (X ≠ f32).
    static func f32RoundTrips(_ c: any DTypeConverter) -> [DType] {
        DType.allCases.filter { $0 != .f32 && c.supports(from: .f32, to: $0) && c.supports(from: $0, to: .f32) }
    }

    static func checkRoundTrip(_ c: any DTypeConverter, _ x: DType, file: StaticString, line: UInt) throws {
        let values = randomFloats(elements, seed: 11)
        let f32 = values.withUnsafeBytes { Array($0) }
        let q = try convert(c, f32, .f32, x, count: elements)
        let back = try convert(c, q, x, .f32, count: elements)
        let again = try convert(c, back, .f32, x, count: elements)
        XCTAssertEqual(q, again, "\(c.name): \(x) → f32 → \(x) is not the identity", file: file, line: line)
        let widened = back.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let block = x.blockElements
        for start in stride(from: 0, to: elements, by: max(block, 1)) {
            let end = start + max(block, 1)
            let amax = values[start..<end].map(abs).max() ?? 0
            for i in start..<end {
                let bound = stepBound(x, value: values[i], blockMax: amax)
                if abs(widened[i] - values[i]) > bound {
                    XCTFail("\(c.name): f32 → \(x) → f32 at \(i): \(values[i]) became \(widened[i]) (bound \(bound))",
                            file: file, line: line)
                    return
                }
            }
        }
    }

    /// The largest error one narrowing to `x` may make: half an ulp for the floats, one quantization step (the
    /// block scale, plus the f16 rounding of the scale) for the block types.
    static func stepBound(_ x: DType, value: Float, blockMax: Float) -> Float {
        switch x {
        case .f16: return abs(value) * 0x1p-11 + 0x1p-24
        case .bf16: return abs(value) * 0x1p-8
        case .q8_0: return blockMax / 127 * 1.01
        case .q4_0: return blockMax / 7 * 1.01
        default: return blockMax / 7  // a block type this suite does not know yet: within a 4-bit step
        }
    }

    /// Source bytes of `type`: random floats narrowed by the converter when it can, else a pattern every type
    /// reads as finite values (f16/bf16 bit patterns of small numbers, zeroed blocks for block types).
    static func sourceBytes(_ c: any DTypeConverter, _ type: DType, count: Int) -> [UInt8] {
        let values = randomFloats(count, seed: 5)
        let f32 = values.withUnsafeBytes { Array($0) }
        if type == .f32 { return f32 }
        if c.supports(from: .f32, to: type), let bytes = try? convert(c, f32, .f32, type, count: count) { return bytes }
        switch type {
        case .f16: return values.flatMap { le16(Float16($0).bitPattern) }
        case .bf16: return values.flatMap { le16(UInt16(truncatingIfNeeded: $0.bitPattern >> 16)) }
        default: return Array(repeating: 0, count: type.byteCount(elements: count) ?? 0)
        }
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }

    static func randomFloats(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { i in
            // Blocks of different magnitudes, signs and an all-zero block, so scales vary.
            let scale: Float = [1, 0.01, 37, 0][(i / 32) % 4]
            return Float.random(in: -1...1, using: &rng) * scale
        }
    }

    /// A pair of known types the converter does not declare, if any.
    static func undeclaredPair(_ c: any DTypeConverter) -> DTypePair? {
        for from in DType.allCases where from.isFloatingPoint || from.isQuantized {
            for to in [DType.i64, .bool, .u8] where !c.supports(from: from, to: to) { return DTypePair(from, to) }
        }
        return nil
    }

    /// Converts `count` elements of `bytes` with `c`; the output buffer is sized from `count` (at least one byte)
    /// and guarded by a canary that must survive.
    static func convert(_ c: any DTypeConverter, _ bytes: [UInt8], _ from: DType, _ to: DType,
                        count: Int) throws -> [UInt8] {
        let outBytes = count > 0 ? (to.byteCount(elements: count) ?? 0) : 0
        var out = [UInt8](repeating: 0xA5, count: outBytes + 64)
        var src = bytes
        if src.isEmpty { src = [0] }
        try src.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in
                try c.convert(s.baseAddress!, from: from, to: d.baseAddress!, to, count: count)
            }
        }
        XCTAssertTrue(out[outBytes...].allSatisfy { $0 == 0xA5 }, "\(c.name) \(from)→\(to): wrote past \(outBytes) bytes")
        return Array(out[..<outBytes])
    }
}
#endif
