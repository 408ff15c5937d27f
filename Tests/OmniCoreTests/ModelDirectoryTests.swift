import Foundation
import OmniCore
import XCTest

/// Resolution through a fake Hugging Face cache laid out as huggingface_hub writes it.
final class ModelDirectoryTests: XCTestCase {
    var tmp: URL!
    let mainCommit = "aaaa1111bbbb2222cccc3333dddd4444eeee5555"
    let tagCommit = "ffff6666aaaa7777bbbb8888cccc9999dddd0000"

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("omni-md-\(UUID().uuidString)")
        let repo = tmp.appendingPathComponent("hub/models--Org--Tiny")
        let fm = FileManager.default
        for d in ["blobs", "refs/tags", "snapshots/\(mainCommit)", "snapshots/\(tagCommit)"] {
            try fm.createDirectory(at: repo.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        try Data("{\"v\": \"main\"}".utf8).write(to: repo.appendingPathComponent("blobs/1111"))
        try Data("{\"v\": \"tag\"}".utf8).write(to: repo.appendingPathComponent("blobs/2222"))
        try fm.createSymbolicLink(atPath: repo.appendingPathComponent("snapshots/\(mainCommit)/config.json").path,
                                  withDestinationPath: "../../blobs/1111")
        try fm.createSymbolicLink(atPath: repo.appendingPathComponent("snapshots/\(tagCommit)/config.json").path,
                                  withDestinationPath: "../../blobs/2222")
        // An interrupted download: the snapshot link exists, the blob does not.
        try fm.createSymbolicLink(atPath: repo.appendingPathComponent("snapshots/\(mainCommit)/model.safetensors").path,
                                  withDestinationPath: "../../blobs/missing")
        try Data((mainCommit + "\n").utf8).write(to: repo.appendingPathComponent("refs/main"))
        try Data(tagCommit.utf8).write(to: repo.appendingPathComponent("refs/tags/v1"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    var env: [String: String] { ["HF_HUB_CACHE": tmp.appendingPathComponent("hub").path] }

    func testResolvesBranchThroughRefsAndFollowsBlobSymlinks() throws {
        let d = try ModelDirectory.resolve("Org/Tiny", environment: env)
        XCTAssertEqual(d.revision, mainCommit)
        XCTAssertEqual(d.id, "Org/Tiny")
        XCTAssertEqual(d.url.lastPathComponent, mainCommit)
        let config = try XCTUnwrap(d.file("config.json"))
        XCTAssertEqual(config.lastPathComponent, "config.json", "the snapshot name is kept")
        XCTAssertEqual(try String(contentsOf: config, encoding: .utf8), "{\"v\": \"main\"}")
        XCTAssertNil(d.file("model.safetensors"), "a dangling link is absent")
        XCTAssertNil(d.file("nope.json"))
    }

    func testResolvesTagAndCommit() throws {
        let tag = try ModelDirectory.resolve("Org/Tiny", revision: "tags/v1", environment: env)
        XCTAssertEqual(tag.revision, tagCommit)
        let commit = try ModelDirectory.resolve("Org/Tiny", revision: tagCommit, environment: env)
        XCTAssertEqual(commit.url, tag.url)
        XCTAssertEqual(try String(contentsOf: XCTUnwrap(commit.file("config.json")), encoding: .utf8),
                       "{\"v\": \"tag\"}")
    }

    func testCacheRootOrder() throws {
        let home = tmp.path
        XCTAssertEqual(ModelDirectory.cacheRoot(environment: ["HF_HOME": home + "/hf"]).0.path, home + "/hf/hub")
        XCTAssertEqual(ModelDirectory.cacheRoot(environment: ["HF_HOME": "/x", "HF_HUB_CACHE": "/y"]).0.path, "/y")
        XCTAssertEqual(ModelDirectory.cacheRoot(environment: ["HOME": "/home/u"]).0.path,
                       "/home/u/.cache/huggingface/hub")
        let viaHome = try ModelDirectory.resolve("Org/Tiny", environment: ["HF_HOME": home])
        XCTAssertEqual(viaHome.revision, mainCommit)
    }

    func testMissingRevisionListsWhatWasTried() throws {
        XCTAssertThrowsError(try ModelDirectory.resolve("Org/Tiny", revision: "dev", environment: env)) { e in
            guard case let .modelNotFound(id, tried, hint)? = e as? OmniError else { return XCTFail("\(e)") }
            XCTAssertEqual(id, "Org/Tiny")
            XCTAssertTrue(tried.contains { $0.contains("refs/dev") }, "\(tried)")
            XCTAssertTrue(tried.contains { $0.contains("snapshots/dev") }, "\(tried)")
            XCTAssertTrue(tried.contains { $0.contains(self.mainCommit) }, "lists the snapshots present: \(tried)")
            XCTAssertTrue(hint.contains("huggingface-cli download Org/Tiny"), hint)
        }
    }

    func testMissingModelListsEveryPlaceTried() throws {
        XCTAssertThrowsError(try ModelDirectory.resolve("Org/Absent", environment: env)) { e in
            guard case let .modelNotFound(_, tried, _)? = e as? OmniError else { return XCTFail("\(e)") }
            XCTAssertTrue(tried[0].contains("Org/Absent (local path)"), "\(tried)")
            XCTAssertTrue(tried.contains { $0.contains("models--Org--Absent/refs/main") }, "\(tried)")
            XCTAssertTrue(tried.contains { $0.contains("models--Org--Absent/snapshots/main") }, "\(tried)")
            XCTAssertTrue("\(e)".contains("pass a folder path"), "\(e)")
        }
        XCTAssertThrowsError(try ModelDirectory.resolve("./no/such/folder", environment: env)) { e in
            guard case let .modelNotFound(_, tried, _)? = e as? OmniError else { return XCTFail("\(e)") }
            XCTAssertEqual(tried.count, 1, "a path is not looked up in the cache: \(tried)")
        }
    }

    func testExistingPathWinsOverCache() throws {
        let snapshot = tmp.appendingPathComponent("hub/models--Org--Tiny/snapshots/\(mainCommit)")
        let d = try ModelDirectory.resolve(snapshot.path, revision: "ignored", environment: env)
        XCTAssertNil(d.revision)
        XCTAssertNotNil(d.file("config.json"))
        let file = try ModelDirectory.resolve(snapshot.appendingPathComponent("config.json").path, environment: env)
        XCTAssertEqual(file.folder.lastPathComponent, mainCommit)
        XCTAssertNotNil(file.file("config.json"))
    }
}
