// libFuzzer target: arbitrary bytes as an `omni` command line (see Fuzz/README-reliability.md). The input is split
// at NUL bytes into arguments (the first byte picks a subcommand from the list below, so every command is reached),
// then parsed and validated exactly as `omni` does before running (`Omni.parseAsRoot`, with the text-option
// rewriting of `Omni.joiningTextValues`). Nothing is run. Any input may be rejected with an error (whose exit code
// must be 0 for help or 1…125); none may crash, trap, hang or allocate without bound.
import ArgumentParser
import Foundation
@testable import omni

/// `OMNI_FUZZ_VERBOSE=1` prints each command line and its outcome.
let verbose = ProcessInfo.processInfo.environment["OMNI_FUZZ_VERBOSE"] == "1"

let prefixes: [[String]] = [
    ["generate", "Models/tiny-omni"], ["plan", "Models/tiny-omni"], ["tokenize", "Models/tiny-omni"],
    ["detokenize", "Models/tiny-omni"], ["convert", "Models/tiny-omni", "/nonexistent/out"],
    ["preprocess", "Models/tiny-omni"], ["forward", "Models/tiny-omni"], ["inspect"],
    ["bench", "decode", "Models/tiny-omni"], ["bench", "prefill", "Models/tiny-omni"], ["bench", "attention"],
    ["bench", "towers", "Models/tiny-omni"], ["bench", "zstd"], ["bench", "kernels"], ["bench", "convert"],
    ["bench", "open"], ["plugins"], [],
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCLI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let rest = bytes.dropFirst().split(separator: 0, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    let args = prefixes[Int(bytes[0]) % prefixes.count] + rest
    do {
        let command = try Omni.parseAsRoot(Omni.joiningTextValues(args))
        if verbose { print("accepted \(args): \(type(of: command))") }
    } catch {
        let code = Omni.exitCode(for: error).rawValue
        precondition(code == 0 || (1...125).contains(code), "exit code \(code) for \(args)")
        let message = Omni.fullMessage(for: error)
        if verbose { print("rejected \(args) → \(code): \(message.prefix(200))") }
    }
    return 0
}
