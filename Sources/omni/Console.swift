#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import OmniCore

/// Standard output and error for every command. Output that cannot be written (`> /dev/full`, a closed pipe)
/// is an error and a non-zero exit, never a trap, a signal or a silent success: writes go through C stdio,
/// SIGPIPE is ignored so a closed pipe is EPIPE, and `finish()` flushes and checks before exit 0.
enum Console {
    /// Writes `text` to standard output; with `flush`, pushes it out now (streaming) and checks it arrived.
    static func out(_ text: String, flush: Bool = false) throws {
        fputs(text, stdout)
        if flush { try finish() } else if ferror(stdout) != 0 { try finish() }
    }

    /// Writes raw `bytes` to standard output and checks they arrived.
    static func out(bytes: [UInt8]) throws {
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, stdout) }
        try finish()
    }

    /// Flushes standard output and throws `OmniError.io` when anything written to it was lost.
    static func finish() throws {
        if fflush(stdout) != 0 || ferror(stdout) != 0 {
            let reason = errno != 0 ? String(cString: strerror(errno)) : "write error"
            clearerr(stdout)
            throw OmniError.io(path: "standard output", reason: "cannot write: \(reason)")
        }
    }

    /// Writes `text` to standard error (best effort: nowhere left to report a failure).
    static func err(_ text: String) {
        fputs(text, stderr)
        fflush(stderr)
    }
}

/// Range checks for command-line options, run where the options are parsed (`validate()`); each message names
/// the option and the accepted range.
enum OptionCheck {
    /// Throws unless `range` contains `value`.
    static func int(_ value: Int, _ name: String, _ range: ClosedRange<Int>, unit: String = "") throws {
        guard range.contains(value) else {
            throw OmniError.invalidArgument(name: name, expected: "an integer in \(range.lowerBound) … \(range.upperBound)\(unit)",
                                            actual: "\(value)")
        }
    }

    /// Throws unless `value` is finite and inside `range` (NaN and infinities are outside every range).
    static func double(_ value: Double, _ name: String, _ range: ClosedRange<Double>, unit: String = "") throws {
        guard value.isFinite, range.contains(value) else {
            throw OmniError.invalidArgument(name: name, expected: "a finite number in \(range.lowerBound) … \(range.upperBound)\(unit)",
                                            actual: "\(value)")
        }
    }

    /// Throws unless `value` is finite and greater than `bound` (and at most `upper`).
    static func above(_ value: Double, _ name: String, _ bound: Double, upper: Double) throws {
        guard value.isFinite, value > bound, value <= upper else {
            throw OmniError.invalidArgument(name: name, expected: "a finite number > \(bound) and ≤ \(upper)", actual: "\(value)")
        }
    }

    /// Worker threads: 1 … 1024.
    static func threads(_ value: Int?, _ name: String = "--threads") throws {
        if let value { try int(value, name, 1...1024) }
    }

    /// A file that a single-file writer produces: `path` must end in `.ext` (otherwise the safetensors writer
    /// would treat it as a folder and create one).
    static func outputFile(_ path: String, _ name: String, ext: String) throws {
        guard URL(fileURLWithPath: path).pathExtension.lowercased() == ext, !path.hasSuffix("/") else {
            throw OmniError.invalidArgument(name: name, expected: "a file path ending in .\(ext)", actual: "\"\(path)\"")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            throw OmniError.invalidArgument(name: name, expected: "a file path (not an existing folder)", actual: "\"\(path)\"")
        }
    }
}
