import OmniCore

/// Rotary-embedding parameters in either spelling: transformers 5's `rope_parameters`
/// `{rope_type, rope_theta, mrope_section}`, or the published `rope_scaling` `{rope_type|type, mrope_section}`
/// plus a sibling `rope_theta`. Both read to the same value.
public struct RopeParameters: Sendable, Hashable {
    /// `default` (1-D or M-RoPE) or `axial` (vision).
    public var type: String
    /// Base of the inverse frequencies.
    public var theta: Double
    /// M-RoPE split of head_dim/2 into (temporal, height, width); nil when the config has none.
    public var mropeSection: [Int]?

    /// Creates parameters.
    public init(type: String, theta: Double, mropeSection: [Int]?) {
        self.type = type
        self.theta = theta
        self.mropeSection = mropeSection
    }

    /// Reads from `r`, preferring `rope_parameters` over `rope_scaling` + `rope_theta`.
    static func read(_ r: ConfigReader, defaultTheta: Double, defaultType: String) throws -> RopeParameters {
        let topTheta = try r.double("rope_theta", default: defaultTheta)
        if let p = try r.optionalObject("rope_parameters") {
            return RopeParameters(type: try p.string("rope_type", "type", default: defaultType),
                                  theta: try p.double("rope_theta", default: topTheta),
                                  mropeSection: try p.optionalInts("mrope_section"))
        }
        if let s = try r.optionalObject("rope_scaling") {
            return RopeParameters(type: try s.string("rope_type", "type", default: defaultType), theta: topTheta,
                                  mropeSection: try s.optionalInts("mrope_section"))
        }
        return RopeParameters(type: defaultType, theta: topTheta, mropeSection: nil)
    }

    /// The dotted key path where `mrope_section` lives for the spelling `r` uses.
    static func mropeKey(_ r: ConfigReader) -> String {
        r.has("rope_parameters") ? "rope_parameters.mrope_section" : "rope_scaling.mrope_section"
    }
}
