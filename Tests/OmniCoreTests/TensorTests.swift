import OmniCore
import XCTest

final class TensorTests: XCTestCase {
    func testDTypeByteCounts() {
        XCTAssertEqual(DType.q8_0.byteCount(elements: 64), 68)
        XCTAssertEqual(DType.q4_0.byteCount(elements: 32), 18)
        XCTAssertNil(DType.q4_0.byteCount(elements: 33))
        XCTAssertEqual(DType.bf16.byteCount(elements: 3), 6)
        XCTAssertNil(DType.f32.byteCount(elements: Int.max / 2))
        XCTAssertEqual(DType(userSpelling: "torch.bfloat16"), .bf16)
        XCTAssertEqual(DType(userSpelling: "Q8_0"), .q8_0)
        XCTAssertNil(DType(userSpelling: "f8"))
    }

    func testViewsShareStorageAndContiguousCopies() throws {
        let t = Tensor((0..<6).map(Float.init), shape: [2, 3])
        let tt = t.permuted([1, 0])
        XCTAssertFalse(tt.isContiguous)
        XCTAssertEqual(try tt.floats(), [0, 3, 1, 4, 2, 5])
        XCTAssertEqual(try t.slice(1..<2).floats(), [3, 4, 5])
        XCTAssertEqual(try t.reshaped([3, 2]).shape, [3, 2])
        XCTAssertThrowsError(try t.reshaped([4, 2]))
        XCTAssertThrowsError(try tt.reshaped([6]))
        XCTAssertEqual(try Tensor(int64: [1, -2], shape: [2]).int64s(), [1, -2])
    }

    func testByteCountParsing() {
        XCTAssertEqual(ByteCount(parsing: "8GiB")?.bytes, 8 << 30)
        XCTAssertEqual(ByteCount(parsing: "1.5 GB")?.bytes, 1_500_000_000)
        XCTAssertEqual(ByteCount(parsing: "100")?.bytes, 100)
        XCTAssertNil(ByteCount(parsing: "lots"))
        XCTAssertNil(ByteCount(parsing: "-1GiB"))
    }

    func testMemoryTrackerEnforcesBudgetBeforeAllocating() throws {
        let m = MemoryTracker(device: .cpu, budget: 100)
        try m.reserve(60, kind: .weights)
        try m.reserve(30, kind: .activations)
        XCTAssertThrowsError(try m.reserve(20, kind: .kvCache)) { e in
            XCTAssertTrue("\(e)".contains("cpu") && "\(e)".contains("kv_cache"), "\(e)")
        }
        m.release(30, kind: .activations)
        let r = m.report()
        XCTAssertEqual(r.currentTotal, 60)
        XCTAssertEqual(r.peakTotal, 90)
        XCTAssertEqual(r.peak[.activations], 30)
    }

    func testDeviceIDParsing() {
        XCTAssertEqual(DeviceID(parsing: "cuda:1"), DeviceID("cuda", index: 1))
        XCTAssertEqual(DeviceID(parsing: "0"), DeviceID("cuda", index: 0))
        XCTAssertEqual(DeviceID(parsing: "disk"), .disk)
        XCTAssertNil(DeviceID(parsing: "cuda:x"))
    }

    func testMaskSemantics() {
        var m = AttentionMask.causal(offset: 2)
        XCTAssertTrue(m.allows(query: 0, key: 2))
        XCTAssertFalse(m.allows(query: 0, key: 3))
        m = AttentionMask(segments: [0, 2, 5])
        XCTAssertTrue(m.allows(query: 1, key: 0))
        XCTAssertFalse(m.allows(query: 2, key: 1))
        m = AttentionMask(causal: true, window: 2)
        XCTAssertFalse(m.allows(query: 3, key: 1))
        XCTAssertTrue(m.allows(query: 3, key: 2))
    }
}

final class ShapeOverflowTests: XCTestCase {
    func testZeroDimensionBesideHugeOnesIsRejected() {
        XCTAssertNil(Shape([0, 1 << 40, 1 << 40]).checkedElementCount)
        XCTAssertFalse(Shape([0, 1 << 40, 1 << 40]).stridesFit)
        XCTAssertEqual(Shape([0, 4]).checkedElementCount, 0)
        XCTAssertNil(Shape([3, -1]).checkedElementCount)
    }
}
