import OmniCore

extension Shape {
    /// True when the product of the nonzero dimensions fits in `Int`, so row-major strides can be
    /// computed without overflow even when a zero dimension makes the element count 0.
    var stridesFit: Bool {
        var n = 1
        for d in dims where d != 0 {
            guard d > 0 else { return false }
            let (m, o) = n.multipliedReportingOverflow(by: d)
            if o { return false }
            n = m
        }
        return true
    }
}
