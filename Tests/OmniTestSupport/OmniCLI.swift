// XCTest helpers: compiled only where XCTest is (the cuda-check program links this target without it).
#if canImport(XCTest)
import Foundation
import XCTest

/// Runs the built `omni` binary for end-to-end CLI tests. The test target that uses this (OmniCLITests)
/// depends on the `omni` executable target, so `swift build --build-tests` / `swift test` build the binary first;
/// a missing binary is a failure, not a skip. `OMNI_CLI` names another binary (scripts/test.sh reruns the CLI
/// tests against the release build).
public enum OmniCLI {
    /// The binary: `OMNI_CLI`, else `omni` next to the test bundle (Linux: beside the .xctest executable;
    /// macOS: beside the .xctest bundle, where `CommandLine.arguments[0]` is Xcode's xctest runner).
    public static var url: URL {
        if let path = ProcessInfo.processInfo.environment["OMNI_CLI"], !path.isEmpty {
            return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        }
        let candidates = [
            Bundle(for: Marker.self).bundleURL.deletingLastPathComponent().appendingPathComponent("omni"),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("omni"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    private final class Marker {}

    /// The result of one run.
    public struct Result {
        /// Exit status (or signal number when `signalled`).
        public var status: Int32
        /// Whether the process ended by a signal (a trap is SIGILL or SIGTRAP).
        public var signalled: Bool
        /// Standard output.
        public var out: String
        /// Standard error.
        public var err: String
    }

    /// Runs `omni args` in the repository root with stdin from /dev/null; kills it after `timeout` seconds
    /// (then `status` is the signal and the test should fail on `signalled`).
    public static func run(_ args: [String], stdout: FileHandle? = nil, timeout: TimeInterval = 120,
                           file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            XCTFail("omni binary missing at \(url.path): OmniCLITests depends on the omni target, so the build should have made it",
                    file: file, line: line)
            throw XCTSkip("no omni binary")
        }
        let p = Process()
        p.executableURL = url
        p.arguments = args
        p.currentDirectoryURL = Fixtures.root
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = stdout ?? outPipe
        p.standardError = errPipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = DispatchTime.now() + timeout
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: deadline, execute: killer)
        let o = stdout == nil ? outPipe.fileHandleForReading.readDataToEndOfFile() : Data()
        let e = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return Result(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
                      out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }
}
#endif
