import Foundation
import OmniTestSupport
import Qwen25Omni
import XCTest

final class ChatTemplateTests: XCTestCase {
    /// The JSON header and the bytes of a safetensors file.
    private func safetensors(_ name: String) throws -> (header: [String: Any], data: Data) {
        let data = try Data(contentsOf: Fixtures.reference.appendingPathComponent(name))
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
        return (header, data.subdata(in: (8 + n)..<data.count))
    }

    /// An I64 tensor of a safetensors file, little-endian.
    private func int64s(_ key: String, in file: (header: [String: Any], data: Data)) throws -> [Int] {
        let info = try XCTUnwrap(file.header[key] as? [String: Any])
        XCTAssertEqual(info["dtype"] as? String, "I64")
        let span = try XCTUnwrap(info["data_offsets"] as? [Int])
        let bytes = [UInt8](file.data.subdata(in: span[0]..<span[1]))
        return stride(from: 0, to: bytes.count, by: 8).map { i in
            Int(Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }))
        }
    }

    func testReferenceTextPromptAndIDs() throws {
        let file = try safetensors("text.safetensors")
        let meta = try XCTUnwrap(file.header["__metadata__"] as? [String: String])
        let encoded = try XCTUnwrap(meta["text"])
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(encoded.utf8), options: .fragmentsAllowed)
            as? String)

        let rendered = ChatTemplate().render([
            ChatMessage(role: "system", text: ChatTemplate.speechSystemPrompt),
            ChatMessage(role: "user", text: "Explain how bfloat16 saves GPU memory."),
        ], addGenerationPrompt: true)
        XCTAssertEqual(rendered, expected)

        let ids = try int64s("input_ids", in: file)
        XCTAssertEqual(ids.count, 102)
        XCTAssertEqual(TinyTokenizer.shared.encode(rendered), ids)
    }

    func testDefaultSystemPromptAndMedia() {
        let rendered = ChatTemplate().render([
            ChatMessage(role: "user", content: [.image, .text("What is this? "), .audio, .video]),
            ChatMessage(role: "assistant", text: "A cat."),
        ], addGenerationPrompt: false)
        XCTAssertEqual(rendered, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            + "<|im_start|>user\n<|vision_bos|><|IMAGE|><|vision_eos|>What is this? "
            + "<|audio_bos|><|AUDIO|><|audio_eos|><|vision_bos|><|VIDEO|><|vision_eos|><|im_end|>\n"
            + "<|im_start|>assistant\nA cat.<|im_end|>\n")
    }

    func testNumberedMedia() {
        let rendered = ChatTemplate(addVisionID: true, addAudioID: true).render([
            ChatMessage(role: "system", text: "S"),
            ChatMessage(role: "user", content: [.image, .video, .image, .audio]),
        ], addGenerationPrompt: true)
        XCTAssertEqual(rendered, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n"
            + "Picture 1: <|vision_bos|><|IMAGE|><|vision_eos|>Video 1: <|vision_bos|><|VIDEO|><|vision_eos|>"
            + "Picture 2: <|vision_bos|><|IMAGE|><|vision_eos|>Audio 1: <|audio_bos|><|AUDIO|><|audio_eos|>"
            + "<|im_end|>\n<|im_start|>assistant\n")
    }
}
