import Foundation
import OmniCore

/// A RIFF/WAVE file decoded to mono Float samples in [-1, 1]: PCM 8/16/24/32-bit integers, IEEE float 32/64,
/// plain or `WAVE_FORMAT_EXTENSIBLE`. Channels are averaged (as `librosa.load(mono=True)` does).
public struct WAVFile: Sendable {
    /// Mono samples in [-1, 1] (integer PCM) or as stored (float).
    public var samples: [Float]
    /// Samples per second.
    public var sampleRate: Int
    /// Channels in the file (before the downmix).
    public var channels: Int

    /// Reads and decodes `path`; every malformed or unsupported field is an error naming the file and the field.
    public init(path: String) throws {
        let data = try RegularFile.read(path)  // OmniError.io naming the path (a FIFO is an error, not a hang)
        try self.init(data: data, path: path)
    }

    /// Decodes WAV bytes (`path` names them in errors).
    public init(data: Data, path: String = "<wav>") throws {
        let b = [UInt8](data)
        func fail(_ reason: String) -> OmniError { .io(path: path, reason: "not a supported WAV file: \(reason)") }
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        guard b.count >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WAVE".utf8) else {
            throw fail("no RIFF/WAVE header")
        }
        var fmt: (format: Int, channels: Int, rate: Int, bits: Int)?
        var payload: Range<Int>?
        var o = 12
        while o + 8 <= b.count {
            let id = String(decoding: b[o..<(o + 4)], as: UTF8.self), size = u32(o + 4)
            let start = o + 8
            // A truncated final data chunk (streams written without the final size) is read up to the file end.
            let end = min(b.count, start + size)
            if id == "fmt " {
                guard size >= 16, end - start >= 16 else { throw fail("fmt chunk of \(size) bytes") }
                var format = u16(start)
                if format == 0xFFFE {
                    guard size >= 40, end - start >= 40 else { throw fail("extensible fmt chunk of \(size) bytes") }
                    format = u16(start + 24)   // the sub-format GUID starts with the format code
                }
                fmt = (format, u16(start + 2), u32(start + 4), u16(start + 14))
            } else if id == "data" {
                payload = start..<end
                if fmt != nil { break }
            }
            o = start + size + (size & 1)
        }
        guard let f = fmt else { throw fail("no fmt chunk") }
        guard let p = payload else { throw fail("no data chunk") }
        guard f.channels >= 1 else { throw fail("\(f.channels) channels") }
        guard f.rate > 0 else { throw fail("sample rate \(f.rate)") }
        let supported = (f.format == 1 && [8, 16, 24, 32].contains(f.bits)) || (f.format == 3 && [32, 64].contains(f.bits))
        guard supported else { throw fail("format \(f.format) with \(f.bits) bits (PCM 8/16/24/32 or float 32/64 expected)") }
        let width = f.bits / 8, frameBytes = width * f.channels
        let frames = p.count / frameBytes
        guard frames > 0 else { throw fail("no samples") }
        var out = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(f.channels)
        for i in 0..<frames {
            var s: Float = 0
            for c in 0..<f.channels {
                let at = p.lowerBound + i * frameBytes + c * width
                switch (f.format, f.bits) {
                case (1, 8): s += (Float(b[at]) - 128) / 128
                case (1, 16): s += Float(Int16(bitPattern: UInt16(u16(at)))) / 32768
                case (1, 24): s += Float(Int32(bitPattern: UInt32(u16(at) | Int(b[at + 2]) << 16) << 8) >> 8) / 8_388_608
                case (1, 32): s += Float(Double(Int32(bitPattern: UInt32(u32(at)))) / 2_147_483_648)
                case (3, 32): s += Float(bitPattern: UInt32(u32(at)))
                default: s += Float(Double(bitPattern: UInt64(u32(at)) | UInt64(u32(at + 4)) << 32))
                }
            }
            out[i] = s * scale
        }
        samples = out
        sampleRate = f.rate
        channels = f.channels
    }

    /// Writes mono 32-bit float samples as a WAV file (atomically).
    public static func writeFloat32(_ samples: [Float], sampleRate: Int, to path: String) throws {
        var d = Data()
        func put32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func put16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: "RIFF".utf8); put32(36 + samples.count * 4); d.append(contentsOf: "WAVE".utf8)
        d.append(contentsOf: "fmt ".utf8); put32(16); put16(3); put16(1); put32(sampleRate); put32(sampleRate * 4); put16(4); put16(32)
        d.append(contentsOf: "data".utf8); put32(samples.count * 4)
        for s in samples { put32(Int(s.bitPattern)) }
        let file = try AtomicFile(path: path)
        try d.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }
}
