import Foundation
import OmniCore

/// Sample encodings `WAVWriter` writes.
public enum WAVEncoding: String, Sendable, CaseIterable {
    /// 16-bit signed PCM (samples clamped to [−1, 1], scaled by 32767 and rounded).
    case pcm16
    /// 32-bit IEEE float.
    case float32

    var bytesPerSample: Int { self == .pcm16 ? 2 : 4 }
}

/// A mono WAV file written as samples arrive: the header's sizes are rewritten after every `append`, so the file
/// on disk is a valid WAV holding every sample appended so far, even if the process dies between chunks.
/// `WAVWriter.write(_:to:)` writes a whole waveform atomically instead (temporary file renamed into place).
public final class WAVWriter {
    /// Destination path.
    public let path: String
    /// Samples per second (token2wav: 24 000).
    public let sampleRate: Int
    /// Sample encoding.
    public let encoding: WAVEncoding
    /// Samples written so far.
    public private(set) var sampleCount = 0
    private var handle: FileHandle?

    /// Creates (or truncates) `path` and writes an empty but valid WAV.
    public init(path: String, sampleRate: Int = Token2Wav.sampleRate, encoding: WAVEncoding = .pcm16) throws {
        guard sampleRate > 0 else {
            throw OmniError.invalidArgument(name: "sampleRate", expected: "a positive rate", actual: "\(sampleRate)")
        }
        self.path = path
        self.sampleRate = sampleRate
        self.encoding = encoding
        guard FileManager.default.createFile(atPath: path, contents: Data(Self.header(samples: 0, sampleRate: sampleRate, encoding: encoding))),
              let h = FileHandle(forWritingAtPath: path) else {
            throw OmniError.io(path: path, reason: "cannot create the WAV file")
        }
        handle = h
        do { try h.seekToEnd() } catch { throw OmniError.io(path: path, reason: "\(error)") }
    }

    /// Appends `samples` and rewrites the header so the file stays valid.
    public func append(_ samples: [Float]) throws {
        guard let h = handle else { throw OmniError.io(path: path, reason: "the WAV writer is closed") }
        let limit = (Int(UInt32.max) - 64) / encoding.bytesPerSample
        guard sampleCount + samples.count <= limit else {
            throw OmniError.invalidArgument(name: "samples", expected: "at most \(limit) samples in one WAV (4 GiB)",
                                            actual: "\(sampleCount + samples.count)")
        }
        do {
            try h.write(contentsOf: Self.encode(samples, encoding))
            sampleCount += samples.count
            try h.seek(toOffset: 0)
            try h.write(contentsOf: Self.header(samples: sampleCount, sampleRate: sampleRate, encoding: encoding))
            try h.seekToEnd()
        } catch let e as OmniError { throw e } catch { throw OmniError.io(path: path, reason: "\(error)") }
    }

    /// Syncs and closes the file (the header is already final).
    public func close() throws {
        guard let h = handle else { return }
        handle = nil
        do { try h.synchronize(); try h.close() } catch { throw OmniError.io(path: path, reason: "\(error)") }
    }

    deinit { try? handle?.close() }

    /// Writes a whole mono waveform to `path` atomically.
    public static func write(_ samples: [Float], to path: String, sampleRate: Int = Token2Wav.sampleRate,
                             encoding: WAVEncoding = .pcm16) throws {
        let file = try AtomicFile(path: path)
        try file.write(header(samples: samples.count, sampleRate: sampleRate, encoding: encoding))
        try file.write(Array(encode(samples, encoding)))
        try file.commit()
    }

    /// A whole mono WAV in memory (header and samples), for writing to a stream.
    public static func bytes(_ samples: [Float], sampleRate: Int = Token2Wav.sampleRate, encoding: WAVEncoding = .pcm16) -> [UInt8] {
        header(samples: samples.count, sampleRate: sampleRate, encoding: encoding) + Array(encode(samples, encoding))
    }

    /// RIFF/WAVE header for `samples` mono samples: `fmt ` (PCM 16-bit, or IEEE float with cbSize 0 and a `fact`
    /// chunk) and the `data` chunk header.
    static func header(samples: Int, sampleRate: Int, encoding: WAVEncoding) -> [UInt8] {
        var d: [UInt8] = []
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(truncatingIfNeeded: v).littleEndian) { d += $0 } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian) { d += $0 } }
        let bps = encoding.bytesPerSample, dataBytes = samples * bps
        let isFloat = encoding == .float32
        let fmtSize = isFloat ? 18 : 16, factSize = isFloat ? 12 : 0
        d += Array("RIFF".utf8); u32(4 + (8 + fmtSize) + factSize + 8 + dataBytes); d += Array("WAVE".utf8)
        d += Array("fmt ".utf8); u32(fmtSize); u16(isFloat ? 3 : 1); u16(1); u32(sampleRate); u32(sampleRate * bps); u16(bps); u16(bps * 8)
        if isFloat { u16(0); d += Array("fact".utf8); u32(4); u32(samples) }
        d += Array("data".utf8); u32(dataBytes)
        return d
    }

    static func encode(_ samples: [Float], _ encoding: WAVEncoding) -> Data {
        var d = Data(capacity: samples.count * encoding.bytesPerSample)
        switch encoding {
        case .pcm16:
            for s in samples {
                let v = Int16((max(-1, min(1, s.isNaN ? 0 : s)) * 32767).rounded())
                withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) }
            }
        case .float32:
            for s in samples { withUnsafeBytes(of: s.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        }
        return d
    }
}
