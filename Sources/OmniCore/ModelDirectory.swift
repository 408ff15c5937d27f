import Foundation

/// A model resolved offline to a folder (or a single weight file), as `from_pretrained` finds it:
/// an existing path wins; else the Hugging Face cache in its real layout.
///
/// Cache root, first that is set: `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE` (legacy), `HF_HOME/hub`,
/// `XDG_CACHE_HOME/huggingface/hub`, `~/.cache/huggingface/hub` (the order huggingface_hub uses).
/// Inside it: `models--ORG--NAME/refs/<revision name>` holds a commit hash (branches, tags and
/// `refs/pr/N` alike), and `models--ORG--NAME/snapshots/<commit>/` holds the files, as symlinks into
/// `../../blobs/`. Symlinks are followed for reading but file names are kept, so extensions still work.
public struct ModelDirectory: Sendable, Hashable {
    /// The resolved folder (a snapshot folder for cached models), or a single file given as a path.
    public let url: URL
    /// What the caller asked for (a model id such as `Qwen/Qwen2.5-Omni-7B`, or a path).
    public let id: String
    /// The commit hash of the cached snapshot; nil for a local path.
    public let revision: String?

    /// Creates a directory value without resolving (for callers that already know the folder).
    public init(url: URL, id: String, revision: String?) {
        self.url = url
        self.id = id
        self.revision = revision
    }

    /// The folder that holds the model's files (`url` itself, or the folder of a single file).
    public var folder: URL {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue {
            return url.deletingLastPathComponent()
        }
        return url
    }

    /// The URL of `name` inside the model folder if it exists (following symlinks into the blob store),
    /// else nil. A dangling cache symlink (an interrupted download) counts as absent.
    public func file(_ name: String) -> URL? {
        let candidate = folder.appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// Resolves `idOrPath` offline.
    ///
    /// - Parameters:
    ///   - idOrPath: an existing folder or file, or a hub id (`ORG/NAME` or `NAME`).
    ///   - revision: a branch, tag or other ref name (looked up in `refs/`), or a full commit hash
    ///     (a snapshot folder name); nil means `main`. Ignored for local paths, as transformers does.
    ///   - environment: where the cache variables are read (tests pass their own).
    /// - Throws: `OmniError.modelNotFound` listing every place tried and how to get the model.
    public static func resolve(_ idOrPath: String, revision: String? = nil,
                               environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> ModelDirectory
    {
        let fm = FileManager.default
        let expanded = expandTilde(idOrPath, environment: environment)
        var tried: [String] = ["\(expanded) (local path)"]
        if fm.fileExists(atPath: expanded) {
            return ModelDirectory(url: URL(fileURLWithPath: expanded).standardizedFileURL, id: idOrPath, revision: nil)
        }
        let hint = "download it with `huggingface-cli download \(idOrPath)` or pass a folder path"
        guard looksLikeHubID(idOrPath) else {
            throw OmniError.modelNotFound(id: idOrPath, tried: tried, hint: hint)
        }
        let (root, rootSource) = cacheRoot(environment: environment)
        let repo = root.appendingPathComponent("models--" + idOrPath.replacingOccurrences(of: "/", with: "--"))
        let snapshots = repo.appendingPathComponent("snapshots")
        let wanted = revision ?? "main"
        var commit = wanted
        let ref = repo.appendingPathComponent("refs").appendingPathComponent(wanted)
        if let data = try? RegularFile.read(ref.path, limit: 4096), let text = String(data: data, encoding: .utf8) {
            commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
            tried.append("\(ref.path) (ref '\(wanted)' → \(commit), cache from \(rootSource))")
        } else {
            tried.append("\(ref.path) (ref '\(wanted)', cache from \(rootSource)): absent")
        }
        let snapshot = snapshots.appendingPathComponent(commit)
        var isDir: ObjCBool = false
        if !commit.isEmpty, !commit.contains("/"), fm.fileExists(atPath: snapshot.path, isDirectory: &isDir),
           isDir.boolValue
        {
            return ModelDirectory(url: snapshot, id: idOrPath, revision: commit)
        }
        tried.append("\(snapshot.path) (snapshot): absent")
        if let have = try? fm.contentsOfDirectory(atPath: snapshots.path), !have.isEmpty {
            tried.append("snapshots present: \(have.sorted().joined(separator: ", "))")
        }
        throw OmniError.modelNotFound(id: idOrPath, tried: tried, hint: hint)
    }

    /// The hub cache root and which setting chose it.
    public static func cacheRoot(environment env: [String: String]) -> (URL, String) {
        func nonEmpty(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        if let p = nonEmpty("HF_HUB_CACHE") {
            return (URL(fileURLWithPath: expandTilde(p, environment: env)), "HF_HUB_CACHE")
        }
        if let p = nonEmpty("HUGGINGFACE_HUB_CACHE") {
            return (URL(fileURLWithPath: expandTilde(p, environment: env)), "HUGGINGFACE_HUB_CACHE")
        }
        if let p = nonEmpty("HF_HOME") {
            return (URL(fileURLWithPath: expandTilde(p, environment: env)).appendingPathComponent("hub"), "HF_HOME")
        }
        if let p = nonEmpty("XDG_CACHE_HOME") {
            return (URL(fileURLWithPath: expandTilde(p, environment: env))
                .appendingPathComponent("huggingface/hub"), "XDG_CACHE_HOME")
        }
        let home = nonEmpty("HOME") ?? NSHomeDirectory()
        return (URL(fileURLWithPath: home).appendingPathComponent(".cache/huggingface/hub"), "default")
    }

    /// `ORG/NAME` or `NAME`: no leading `/`, `.`, `~`, at most one `/`, no empty part.
    static func looksLikeHubID(_ s: String) -> Bool {
        guard let first = s.first, first != "/", first != ".", first != "~" else { return false }
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count <= 2 && parts.allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." }
    }

    static func expandTilde(_ p: String, environment: [String: String]) -> String {
        guard p == "~" || p.hasPrefix("~/") else { return p }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + p.dropFirst()
    }
}
