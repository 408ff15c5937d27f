import FormatSafetensors
import Foundation
import OmniCore

/// Every tensor and the `__metadata__` of a safetensors file (or model folder), read through the
/// FormatSafetensors plugin. Tensors are zero-copy views of the mapped file.
public func loadSafetensors(_ url: URL) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
    let source = try SafetensorsFormat().open(url)
    var tensors: [String: Tensor] = [:]
    for name in source.names { tensors[name] = try source.tensor(name) }
    return (tensors, source.metadata)
}
