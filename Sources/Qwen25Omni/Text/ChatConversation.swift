import Foundation
import OmniCore

/// A conversation in the chat format transformers' `apply_chat_template` and qwen-omni-utils take: one message
/// object or an array of them, each `{"role": …, "content": "text" | [items]}`, an item being
/// `{"type": "text", "text": …}`, `{"type": "image", "image": PATH}`, `{"type": "audio", "audio": PATH}` or
/// `{"type": "video", "video": PATH}` (a `file://` prefix is dropped). Media stay where the user put them.
public struct ChatConversation: Sendable, Equatable {
    /// One media item, in conversation order.
    public struct Media: Sendable, Equatable {
        public var kind: MediaKind
        public var path: String
        public init(kind: MediaKind, path: String) {
            self.kind = kind
            self.path = path
        }
    }

    /// The messages with placeholders where the media were.
    public var messages: [ChatMessage]
    /// The media files in the order their placeholders appear.
    public var media: [Media]

    /// Parses `json`; `source` names it in errors (`--message`).
    public init(json: Data, source: String = "--message") throws {
        func bad(_ expected: String, _ actual: String) -> OmniError { .invalidArgument(name: source, expected: expected, actual: actual) }
        let root = try JSONValue.parse(json, file: source)
        let list: [JSONValue]
        switch root {
        case let .array(a): list = a
        case .object: list = [root]
        default: throw bad("a message object or an array of messages", "\(root)".prefix(80).description)
        }
        var messages: [ChatMessage] = [], media: [Media] = []
        for (i, m) in list.enumerated() {
            guard case let .object(o) = m, case let .string(role)? = o["role"] else {
                throw bad("message \(i) as {\"role\": …, \"content\": …}", "\(m)".prefix(80).description)
            }
            var content: [ChatMessage.Content] = []
            switch o["content"] {
            case let .string(text)?: content = [.text(text)]
            case let .array(items)?:
                for (j, item) in items.enumerated() {
                    guard case let .object(it) = item else { throw bad("message \(i) item \(j) as an object", "\(item)".prefix(80).description) }
                    var type: String?
                    if case let .string(t)? = it["type"] { type = t }
                    if type == nil { type = ["text", "image", "audio", "video"].first { it[$0] != nil } }
                    switch type {
                    case "text"?:
                        guard case let .string(t)? = it["text"] else { throw bad("message \(i) item \(j): a \"text\" string", "\(item)") }
                        content.append(.text(t))
                    case let name?:
                        guard let kind = MediaKind(rawValue: name) else {
                            throw bad("message \(i) item \(j) of type text, image, audio or video", "\(item)".prefix(80).description)
                        }
                        guard case var .string(path)? = it[name] else {
                            throw bad("message \(i) item \(j): a \"\(name)\" file path", "\(item)".prefix(80).description)
                        }
                        if path.hasPrefix("file://") { path.removeFirst(7) }
                        guard !path.hasPrefix("http://"), !path.hasPrefix("https://"), !path.hasPrefix("data:") else {
                            throw bad("message \(i) item \(j): a local file (URLs and data URIs are not fetched)", path.prefix(80).description)
                        }
                        media.append(Media(kind: kind, path: path))
                        content.append(kind == .image ? .image : kind == .audio ? .audio : .video)
                    case nil:
                        throw bad("message \(i) item \(j) of type text, image, audio or video", "\(item)".prefix(80).description)
                    }
                }
            default: throw bad("message \(i): \"content\" as a string or an array of items", "\(o["content"].map { "\($0)" } ?? "nothing")")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        guard !messages.isEmpty else { throw bad("at least one message", "none") }
        self.messages = messages
        self.media = media
    }
}
