import Foundation
import OmniCore

/// Binary Netpbm images (P6 RGB, P5 grey; maxval ≤ 255) for the command line: the one image format read
/// without a decoding library. Apps pass `RGBImage`s they decoded themselves; `ffmpeg -i in.jpg out.ppm`
/// converts anything else.
public enum PPMFile {
    /// Reads `path`; malformed or unsupported files are errors naming the file and the field.
    public static func read(path: String) throws -> RGBImage {
        let data = try RegularFile.read(path)  // OmniError.io naming the path (a FIFO is an error, not a hang)
        return try decode([UInt8](data), path: path)
    }

    /// Decodes PPM/PGM bytes (`path` names them in errors).
    public static func decode(_ b: [UInt8], path: String = "<ppm>") throws -> RGBImage {
        func fail(_ reason: String) -> OmniError { .io(path: path, reason: "not a supported PPM/PGM file: \(reason)") }
        var i = 0
        func token() throws -> String {
            while i < b.count {
                if b[i] == UInt8(ascii: "#") { while i < b.count && b[i] != 10 { i += 1 } } else if b[i] <= 32 { i += 1 } else { break }
            }
            let start = i
            while i < b.count && b[i] > 32 && i - start < 64 { i += 1 }
            guard i > start else { throw fail("header ends early") }
            return String(decoding: b[start..<i], as: UTF8.self)
        }
        let magic = try token()
        guard magic == "P6" || magic == "P5" else { throw fail("magic \(magic.prefix(8)) (P6 or P5 expected)") }
        guard let w = Int(try token()), let h = Int(try token()), let maxval = Int(try token()),
              w > 0, h > 0, w <= 1 << 15, h <= 1 << 15, (1...255).contains(maxval) else {
            throw fail("width, height or maxval out of range (1…32768, 1…32768, 1…255)")
        }
        i += 1   // the single whitespace byte after maxval
        let channels = magic == "P6" ? 3 : 1
        guard b.count - i >= w * h * channels else { throw fail("\(b.count - i) pixel bytes for \(w)×\(h)×\(channels)") }
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for p in 0..<(w * h) {
            for c in 0..<3 {
                let v = Int(b[i + p * channels + (channels == 3 ? c : 0)])
                px[p * 3 + c] = UInt8(min(255, (v * 255 + maxval / 2) / maxval))
            }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }

    /// Writes a P6 file (atomically).
    public static func write(_ image: RGBImage, to path: String) throws {
        let file = try AtomicFile(path: path)
        try file.write(Array("P6\n\(image.width) \(image.height)\n255\n".utf8) + image.pixels)
        try file.commit()
    }
}
