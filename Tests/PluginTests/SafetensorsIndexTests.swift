import FormatSafetensors
import Foundation
import OmniCore
import XCTest

/// Sharded sets: the index and the shards must agree both ways, and shard paths stay inside the folder.
final class SafetensorsIndexTests: XCTestCase {
    let format = SafetensorsFormat()
    var s: SafetensorsScratch!

    override func setUpWithError() throws {
        s = try SafetensorsScratch()
        try s.file("s1.safetensors", header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [7])
        try s.file("s2.safetensors", header: #"{"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [9])
    }
    override func tearDown() { s.remove() }

    func index(_ map: String) throws {
        try s.raw("model.safetensors.index.json", Array(#"{"metadata":{"total_size":2},"weight_map":{\#(map)}}"#.utf8))
    }

    func testConsistentIndexOpens() throws {
        try index(#""a":"s1.safetensors","b":"s2.safetensors""#)
        let src = try format.open(s.dir)
        XCTAssertEqual(src.names, ["a", "b"])
        XCTAssertEqual(try src.tensor("b").rawPointer.load(as: UInt8.self), 9)
    }

    func testIndexNamingMissingShard() throws {
        try index(#""a":"s1.safetensors","b":"s3.safetensors""#)
        assertWeightFileError(file: "model.safetensors.index.json", tensor: "b", reason: "does not exist") {
            try self.format.open(self.s.dir)
        }
    }

    func testIndexEntryNotInItsShard() throws {
        try index(#""a":"s1.safetensors","b":"s2.safetensors","c":"s2.safetensors""#)
        assertWeightFileError(file: "model.safetensors.index.json", tensor: "c", reason: "does not hold it") {
            try self.format.open(self.s.dir)
        }
    }

    func testShardTensorMissingFromIndex() throws {
        try s.file("s2.safetensors", header: #"{"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"#
                   + #""z":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, data: [9, 1])
        try index(#""a":"s1.safetensors","b":"s2.safetensors""#)
        assertWeightFileError(file: "s2.safetensors", tensor: "z", reason: "not listed") {
            try self.format.open(self.s.dir)
        }
    }

    func testIndexPathWithDotDot() throws {
        try index(#""a":"s1.safetensors","b":"../s2.safetensors""#)
        assertWeightFileError(file: "model.safetensors.index.json", tensor: "b", reason: "'..'") {
            try self.format.open(self.s.dir)
        }
        try index(#""a":"s1.safetensors","b":"sub/../../s2.safetensors""#)
        assertWeightFileError(file: "model.safetensors.index.json", tensor: "b", reason: "'..'") {
            try self.format.open(self.s.dir)
        }
    }

    func testIndexAbsolutePath() throws {
        let abs = s.dir.appendingPathComponent("s2.safetensors").path
        try index(#""a":"s1.safetensors","b":"\#(abs)""#)
        assertWeightFileError(file: "model.safetensors.index.json", tensor: "b", reason: "relative") {
            try self.format.open(self.s.dir)
        }
    }

    /// The Hugging Face cache layout: shards are symlinks from snapshots/<rev>/ into ../../blobs/.
    /// The index names plain file names, so this is inside the folder and must open.
    func testHubCacheSymlinkedShardsOpen() throws {
        let blobs = s.dir.appendingPathComponent("blobs")
        let snap = s.dir.appendingPathComponent("snapshots/abc123")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: snap, withIntermediateDirectories: true)
        for (shard, blob) in [("s1.safetensors", "b1"), ("s2.safetensors", "b2")] {
            try FileManager.default.moveItem(at: s.dir.appendingPathComponent(shard), to: blobs.appendingPathComponent(blob))
            try FileManager.default.createSymbolicLink(atPath: snap.appendingPathComponent(shard).path,
                                                       withDestinationPath: "../../blobs/\(blob)")
        }
        try Data(#"{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#.utf8)
            .write(to: snap.appendingPathComponent("model.safetensors.index.json"))
        let src = try format.open(snap)
        XCTAssertEqual(src.names, ["a", "b"])
        XCTAssertEqual(try src.tensor("a").rawPointer.load(as: UInt8.self), 7)
    }

    func testInvalidIndexJSON() throws {
        try s.raw("model.safetensors.index.json", Array("{not json".utf8))
        assertWeightFileError(file: "model.safetensors.index.json", tensor: nil, reason: "not valid JSON") {
            try self.format.open(self.s.dir)
        }
        try s.raw("model.safetensors.index.json", Array(#"{"weight_map": {"a": 3}}"#.utf8))
        assertWeightFileError(file: "model.safetensors.index.json", tensor: "a", reason: "file name") {
            try self.format.open(self.s.dir)
        }
    }

    func testTensorInTwoShards() throws {
        try s.file("s2.safetensors", header: #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, data: [9])
        try index(#""a":"s1.safetensors","b":"s2.safetensors""#)
        assertWeightFileError(file: "s2.safetensors", tensor: "a", reason: "also stored in") { try self.format.open(self.s.dir) }
    }
}
