import Foundation
import OmniCore

/// PyTorch zip checkpoints (`pytorch_model.bin`, `spk_dict.pt`), read through a restricted unpickler that
/// never executes code. Nested dicts flatten to dotted names (`Chelsie.cond`); non-tensor leaves
/// (`Chelsie.bos_token`) are exposed as metadata. Read only.
public struct TorchPickleFormat: WeightFormat {
    /// Creates the plugin.
    public init() {}

    /// `torch`.
    public var name: String { "torch" }

    /// Reads f32/f16/bf16/i8/i32/i64/u8/bool storages.
    public var capabilities: WeightFormatCapabilities {
        WeightFormatCapabilities(canRead: true, canWrite: false,
                                 dtypes: [.f32, .f16, .bf16, .i8, .i32, .i64, .u8, .bool],
                                 fileExtensions: ["pt", "pth", "bin"])
    }

    /// A `.pt`/`.pth`/`.bin` file, or a folder with `pytorch_model.bin`.
    public func canOpen(_ url: URL) -> Bool { resolve(url) != nil }

    /// Opens and validates the archive and its pickle; reads no tensor data.
    public func open(_ url: URL) throws -> any WeightSource {
        guard let file = resolve(url) else {
            throw OmniError.unsupported(what: "opening \(url.path) as a torch checkpoint",
                                        reasons: ["expected a .pt/.pth/.bin file or a folder with pytorch_model.bin"])
        }
        return try TorchSource(path: file.path)
    }

    private func resolve(_ url: URL) -> URL? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return nil }
        if isDir.boolValue {
            let bin = url.appendingPathComponent("pytorch_model.bin")
            return FileManager.default.fileExists(atPath: bin.path) ? bin : nil
        }
        return ["pt", "pth", "bin"].contains(url.pathExtension) ? url : nil
    }
}
