import BuiltinPlugins
import DTypeStandard
import OmniCore
import OmniTestSupport
import XCTest

/// The shared DTypeConverter conformance checks, run against every converter the built-in registry holds (so a
/// converter added to the one list is checked without touching this file) and against each by name.
final class DTypeConverterConformanceTests: XCTestCase {
    func testEveryRegisteredConverter() throws {
        let registry = BuiltinPlugins.registry()
        XCTAssertFalse(registry.converters.isEmpty)
        for converter in registry.converters { try DTypeConverterConformance.check(converter) }
    }

    func testStandard() throws { try DTypeConverterConformance.check(StandardConverter()) }

    func testBlockQuant() throws { try DTypeConverterConformance.check(BlockQuantConverter()) }
}
