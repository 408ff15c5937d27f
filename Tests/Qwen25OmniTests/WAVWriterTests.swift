import Foundation
import OmniCore
import OmniTestSupport
import MediaBasic
@testable import Qwen25Omni
import XCTest

/// PCM16 writes round(x·32767) and the reader divides by 32768: within 2 LSB of the input.
/// The WAV writer: both encodings read back by the WAV reader, a streamed file valid after every chunk, atomic
/// whole-file writes.
final class WAVWriterTests: XCTestCase {
    let samples: [Float] = (0..<1000).map { Float(sin(Double($0) * 0.05)) * 0.9 } + [1.5, -1.5, 0]

    func testStreamedFileIsValidAfterEveryChunk() throws {
        for encoding in WAVEncoding.allCases {
            let path = try temporaryDirectory().appendingPathComponent("s.wav").path
            let w = try WAVWriter(path: path, encoding: encoding)
            // Empty but well-formed (the reader refuses sample-less files, so look at the header): data size 0.
            let empty = try Data(contentsOf: URL(fileURLWithPath: path))
            XCTAssertEqual(empty.prefix(4), Data("RIFF".utf8))
            XCTAssertEqual(Array(empty.suffix(8)), Array("data".utf8) + [0, 0, 0, 0])
            var written: [Float] = []
            for chunk in stride(from: 0, to: samples.count, by: 300).map({ Array(samples[$0..<min($0 + 300, samples.count)]) }) {
                try w.append(chunk)
                written += chunk
                // Readable as it stands, as if the process died here.
                let f = try WAVFile(path: path)
                XCTAssertEqual(f.sampleRate, 24_000)
                XCTAssertEqual(f.samples.count, written.count)
                let want = encoding == .pcm16 ? written.map { max(-1, min(1, $0)) } : written
                XCTAssertLessThanOrEqual(Tolerance.maxAbsError(f.samples, want), encoding == .pcm16 ? 2 / 32767 : 0, "\(encoding)")
            }
            try w.close()
            XCTAssertThrowsError(try w.append([0]))
        }
    }

    func testAtomicWholeFileWrite() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("a.wav").path
        try WAVWriter.write(samples, to: path, encoding: .float32)
        XCTAssertEqual(try WAVFile(path: path).samples, samples)
        try WAVWriter.write(samples, to: path)
        let pcm = try WAVFile(path: path).samples
        XCTAssertEqual(pcm.count, samples.count)
        XCTAssertEqual(Data(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(4)), Data("RIFF".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["a.wav"])   // no temporaries left
    }
}
