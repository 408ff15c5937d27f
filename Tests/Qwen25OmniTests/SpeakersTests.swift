import BuiltinPlugins
import Foundation
import OmniCore
import OmniTestSupport
@testable import Qwen25Omni
import XCTest

/// The speaker dictionary: every voice of the tiny checkpoint's `spk_dict.pt` (values checked against the pickle's
/// storages as Python reads them), the same voices from a `spk_dict.safetensors`, and strict errors with key paths.
final class SpeakersTests: XCTestCase {
    let registry = BuiltinPlugins.registry()

    func testLoadsEveryVoiceOfTheTorchPickle() throws {
        let s = try Speakers.load(directory: Fixtures.tinyModel, registry: registry)
        XCTAssertEqual(s.names, ["Chelsie", "Ethan"])
        let chelsie = try s.voice(named: "Chelsie"), ethan = try s.voice(named: "Ethan")
        XCTAssertEqual(chelsie.bosToken, 2038)
        XCTAssertEqual(ethan.bosToken, 2037)
        XCTAssertEqual(chelsie.cond.shape, [32])
        XCTAssertEqual(chelsie.refMel.shape, [40, 80])
        XCTAssertEqual(ethan.refMel.shape, [48, 80])
        // Leading values and sums of the pickle's raw storages (zip members data/0…3), as numpy reads them.
        let want: [(Tensor, [Float], Double)] = [
            (chelsie.cond, [0.39198997616767883, -0.9574058055877686, -2.576197624206543], -4.85883418424055),
            (chelsie.refMel, [-1.5892540216445923, -0.4559418559074402, -0.8932960629463196], -66.33089665320585),
            (ethan.cond, [-1.1988940238952637, 1.2562001943588257, -0.8296512365341187], -6.4816483105532825),
            (ethan.refMel, [-0.3750503957271576, -1.379626989364624, -1.636183500289917], -62.796479708755214),
        ]
        for (t, head, sum) in want {
            let v = try t.floats()
            XCTAssertEqual(Array(v.prefix(3)), head)
            XCTAssertEqual(v.reduce(0.0) { $0 + Double($1) }, sum, accuracy: 1e-9)
        }
    }

    func testUnknownNameListsTheKnownOnes() throws {
        let s = try Speakers.load(directory: Fixtures.tinyModel, registry: registry)
        XCTAssertThrowsError(try s.voice(named: "Alice")) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("Chelsie, Ethan") && text.contains("'Alice'"), text)
        }
    }

    /// The same voices written as safetensors (`NAME.cond`, `NAME.ref_mel`, `NAME.bos_token` as an i64 scalar).
    func testSafetensorsDictionaryLoadsTheSameVoices() throws {
        let pt = try Speakers.load(directory: Fixtures.tinyModel, registry: registry)
        let dir = try temporaryDirectory()
        try write(pt.voices.values.flatMap { v in
            [("\(v.name).cond", v.cond), ("\(v.name).ref_mel", try refMel3D(v)),
             ("\(v.name).bos_token", Tensor(int64: [Int64(v.bosToken)], shape: [1]))]
        }, to: dir)
        let st = try Speakers.load(directory: dir, registry: registry)
        XCTAssertEqual(st.names, pt.names)
        for name in pt.names {
            let a = try pt.voice(named: name), b = try st.voice(named: name)
            XCTAssertEqual(a.bosToken, b.bosToken)
            XCTAssertEqual(try a.cond.floats(), try b.cond.floats())
            XCTAssertEqual(try a.refMel.floats(), try b.refMel.floats())
            XCTAssertEqual(a.refMel.shape, b.refMel.shape)
        }
    }

    func testStrictErrorsNameTheKeyPath() throws {
        let v = try Speakers.load(directory: Fixtures.tinyModel, registry: registry).voice(named: "Chelsie")
        let bos = Tensor(int64: [7], shape: [1])
        let cases: [([(String, Tensor)], String)] = [
            ([("A.cond", v.cond), ("A.ref_mel", try refMel3D(v))], "A.bos_token"),                          // missing
            ([("A.cond", v.cond), ("A.ref_mel", try refMel3D(v)), ("A.bos_token", bos), ("A.extra", v.cond)], "A.extra"),
            ([("A.cond", v.refMel), ("A.ref_mel", try refMel3D(v)), ("A.bos_token", bos)], "A.cond"),       // rank 2, 40 rows
            ([("A.cond", v.cond), ("A.ref_mel", v.cond), ("A.bos_token", bos)], "A.ref_mel"),                // rank 1
            ([("A.cond", v.cond), ("A.ref_mel", try refMel3D(v)), ("A.bos_token", v.cond)], "A.bos_token"),  // floats
            ([("A", v.cond)], "'A'"),                                                                         // no field
        ]
        for (entries, key) in cases {
            let dir = try temporaryDirectory()
            try write(entries, to: dir)
            XCTAssertThrowsError(try Speakers.load(directory: dir, registry: registry), key) { e in
                XCTAssertTrue("\(e)".contains(key) && "\(e)".contains("spk_dict.safetensors"), "\(e)")
            }
        }
        XCTAssertThrowsError(try Speakers.load(directory: try temporaryDirectory(), registry: registry)) { e in
            XCTAssertTrue("\(e)".contains("spk_dict.pt"), "\(e)")
        }
    }

    func refMel3D(_ v: Voice) throws -> Tensor {
        Tensor(try v.refMel.floats(), shape: [1, v.refMel.shape[0], v.refMel.shape[1]])
    }

    func write(_ entries: [(String, Tensor)], to dir: URL) throws {
        _ = try registry.weightFormat(named: "safetensors").write(
            entries.map { n, t in TensorEntry(name: n, dtype: t.dtype, shape: t.shape, load: { t }) },
            to: dir.appendingPathComponent("spk_dict.safetensors"), options: WeightWriteOptions())
    }
}
