// XCTest helpers: compiled only where XCTest is (the cuda-check program links this target without it).
#if canImport(XCTest)
import Foundation
import XCTest

extension XCTestCase {
    /// A fresh folder under the system temporary directory, removed when the test ends (through a teardown
    /// block, not a deinit: a local whose last use has passed may be released early, folder and all).
    public func temporaryDirectory(_ prefix: String = "omni-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
#endif
