import FormatSafetensors
import Foundation
import OmniCore
import XCTest

/// Malformed single files: each gives a typed `weightFile` error naming the file and (where one is at
/// fault) the tensor, never a crash.
final class SafetensorsHostileTests: XCTestCase {
    let format = SafetensorsFormat()
    var s: SafetensorsScratch!

    override func setUpWithError() throws { s = try SafetensorsScratch() }
    override func tearDown() { s.remove() }

    func entry(_ name: String, _ dtype: String = "F32", _ shape: String = "[2]", _ offsets: String = "[0,8]") -> String {
        #""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":\#(offsets)}"#
    }

    func testTruncatedBeforeHeaderLength() throws {
        let url = try s.raw("t.safetensors", [1, 0, 0])
        assertWeightFileError(file: "t.safetensors", tensor: nil, reason: "truncated") { try self.format.open(url) }
    }

    func testZeroDimensionBesideHugeOnesIsATypedErrorNotATrap() throws {
        // 0 elements, but row-major strides of [0, 2^40, 2^40] overflow Int (found by the GGUF fuzzer).
        let url = try s.file("z.safetensors", header: "{" + entry("w", "F32", "[0,1099511627776,1099511627776]", "[0,0]") + "}")
        XCTAssertThrowsError(try self.format.open(url).tensor("w")) { e in
            guard case let OmniError.weightFile(file, tensor, _) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(file.hasSuffix("z.safetensors"))
            XCTAssertEqual(tensor, "w")
        }
    }

    func testTruncatedData() throws {
        let url = try s.file("t.safetensors", header: "{" + entry("w") + "}", data: [0, 0, 0])
        assertWeightFileError(file: "t.safetensors", tensor: "w", reason: "past the data area") {
            try self.format.open(url)
        }
    }

    func testHeaderLengthBeyondFile() throws {
        let url = try s.file("h.safetensors", header: "{}", lengthOverride: 4096)
        assertWeightFileError(file: "h.safetensors", tensor: nil, reason: "past the end of the file") {
            try self.format.open(url)
        }
    }

    func testHeaderOverCap() throws {
        let url = try s.file("h.safetensors", header: "{}", lengthOverride: 100_000_001)
        assertWeightFileError(file: "h.safetensors", tensor: nil, reason: "cap") { try self.format.open(url) }
        let huge = try s.file("u.safetensors", header: "{}", lengthOverride: UInt64.max)
        assertWeightFileError(file: "u.safetensors", tensor: nil, reason: "cap") { try self.format.open(huge) }
    }

    func testInvalidJSON() throws {
        let url = try s.file("j.safetensors", header: #"{"w": {"dtype": "#)
        assertWeightFileError(file: "j.safetensors", tensor: nil, reason: "not valid JSON") { try self.format.open(url) }
    }

    func testDuplicateTensorNameInHeader() throws {
        let header = "{" + entry("a", "U8", "[1]", "[0,1]") + "," + entry("a", "U8", "[1]", "[1,2]") + "}"
        let url = try s.file("dup.safetensors", header: header, data: [1, 2])
        assertWeightFileError(file: "dup.safetensors", tensor: nil, reason: "duplicate key 'a'") {
            try self.format.open(url)
        }
    }

    func testDeeplyNestedJSONIsRefusedNotRecursed() throws {
        let header = #"{"__metadata__":"# + String(repeating: "[", count: 100_000)
        let url = try s.file("deep.safetensors", header: header)
        assertWeightFileError(file: "deep.safetensors", tensor: nil, reason: "nested deeper") { try self.format.open(url) }
    }

    func testEscapedNamesAndTrailingGarbage() throws {
        let header = #"{"a\u00e9\n\ud83d\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        let url = try s.file("esc.safetensors", header: header, data: [5])
        XCTAssertEqual(try format.open(url).names, ["aé\n😀"])
        let bad = try s.file("tr.safetensors", header: "{} x")
        assertWeightFileError(file: "tr.safetensors", tensor: nil, reason: "trailing") { try self.format.open(bad) }
    }

    func testHeaderNotAnObject() throws {
        let url = try s.file("j.safetensors", header: "[1, 2]")
        assertWeightFileError(file: "j.safetensors", tensor: nil, reason: "not a JSON object") {
            try self.format.open(url)
        }
    }

    func testEntryFieldTypes() throws {
        let cases: [(String, String)] = [
            (#"{"w": 3}"#, "must be an object"),
            (#"{"w": {"dtype": 1, "shape": [2], "data_offsets": [0, 8]}}"#, "'dtype' must be a string"),
            (#"{"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}"#, "'shape' must be"),
            (#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}"#, "'data_offsets' must be"),
            (#"{"w": {"dtype": "F32", "shape": [2]}}"#, "'data_offsets' must be"),
        ]
        for (i, (header, reason)) in cases.enumerated() {
            let url = try s.file("e\(i).safetensors", header: header, data: Array(repeating: 0, count: 8))
            assertWeightFileError(file: "e\(i).safetensors", tensor: "w", reason: reason) { try self.format.open(url) }
        }
    }

    func testMetadataMustBeStrings() throws {
        let url = try s.file("m.safetensors", header: #"{"__metadata__": {"a": 1}}"#)
        assertWeightFileError(file: "m.safetensors", tensor: nil, reason: "__metadata__") { try self.format.open(url) }
    }

    func testOffsetsOutOfBounds() throws {
        let url = try s.file("o.safetensors", header: "{" + entry("w", "F32", "[2]", "[8,16]") + "}",
                             data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "o.safetensors", tensor: "w", reason: "past the data area") {
            try self.format.open(url)
        }
        let neg = try s.file("n.safetensors", header: "{" + entry("w", "F32", "[2]", "[-8,0]") + "}",
                             data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "n.safetensors", tensor: "w", reason: "increasing") { try self.format.open(neg) }
        let rev = try s.file("r.safetensors", header: "{" + entry("w", "F32", "[0]", "[8,0]") + "}",
                             data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "r.safetensors", tensor: "w", reason: "increasing") { try self.format.open(rev) }
    }

    func testOverlappingTensors() throws {
        let header = "{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}"
        let url = try s.file("ov.safetensors", header: header, data: Array(repeating: 0, count: 12))
        assertWeightFileError(file: "ov.safetensors", tensor: "b", reason: "overlap tensor 'a'") {
            try self.format.open(url)
        }
    }

    func testDTypeShapeByteCountMismatch() throws {
        let url = try s.file("d.safetensors", header: "{" + entry("w", "BF16", "[3]", "[0,8]") + "}",
                             data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "d.safetensors", tensor: "w", reason: "needs 6 bytes") { try self.format.open(url) }
    }

    func testShapeOverflowAndNegative() throws {
        let big = "[4611686018427387904, 4]"
        let url = try s.file("b.safetensors", header: "{" + entry("w", "F32", big, "[0,8]") + "}",
                             data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "b.safetensors", tensor: "w", reason: "overflow") { try self.format.open(url) }
        let bytesOverflow = "[2305843009213693952]"   // 2^61 elements × 4 bytes overflows Int
        let u2 = try s.file("c.safetensors", header: "{" + entry("w", "F32", bytesOverflow, "[0,8]") + "}",
                            data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "c.safetensors", tensor: "w", reason: "overflows") { try self.format.open(u2) }
        let neg = try s.file("n.safetensors", header: "{" + entry("w", "F32", "[-2]", "[0,8]") + "}",
                             data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "n.safetensors", tensor: "w", reason: "negative") { try self.format.open(neg) }
    }

    func testUnknownAndUnsupportedDType() throws {
        let url = try s.file("x.safetensors", header: "{" + entry("w", "X99") + "}", data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "x.safetensors", tensor: "w", reason: "unknown dtype 'X99'") {
            try self.format.open(url)
        }
        let f64 = try s.file("f.safetensors", header: "{" + entry("w", "F64", "[1]") + "}",
                             data: Array(repeating: 0, count: 8))
        assertWeightFileError(file: "f.safetensors", tensor: "w", reason: "unsupported dtype F64") {
            try self.format.open(f64)
        }
    }

    func testNotSafetensorsPathIsUnsupported() throws {
        XCTAssertFalse(format.canOpen(s.dir))
        XCTAssertThrowsError(try format.open(s.dir)) { error in
            guard case OmniError.unsupported = error else { return XCTFail("\(error)") }
        }
    }
}
