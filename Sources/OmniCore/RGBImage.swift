/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel (what a `MediaDecoder` returns and the vision
/// processor takes).
public struct RGBImage: Sendable, Equatable {
    /// Size in pixels.
    public var width: Int, height: Int
    /// height × width × 3 bytes.
    public var pixels: [UInt8]
    /// An image from height × width × 3 RGB bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB image \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width; self.height = height; self.pixels = pixels
    }
}
