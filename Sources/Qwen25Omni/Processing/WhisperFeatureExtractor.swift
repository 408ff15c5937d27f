import Foundation
import OmniCore

/// `WhisperFeatureExtractor` as the Qwen2.5-Omni processor runs it (OMNI-SPEC §6.1): 16 kHz mono waveforms →
/// log-mel `input_features` [B, featureSize, nSamples / hop] f32 and `feature_attention_mask` [B, frames] i64.
///
/// Right-pads (or truncates) each waveform to `nSamples`, takes a centred STFT with reflect padding and a periodic
/// Hann window, the Slaney mel filter bank, log10 with a floor 8 below the waveform's maximum, then (x + 4) / 4.
/// Only the frames that can hold signal are transformed; the rest are the all-zero value, as in the reference.
public struct WhisperFeatureExtractor: Sendable {
    /// Mel bins (128).
    public var featureSize: Int
    /// Expected waveform rate (16 kHz).
    public var samplingRate: Int
    /// Samples between frames (160).
    public var hopLength: Int
    /// Window and FFT length (400).
    public var nFFT: Int
    /// Samples every waveform is padded or truncated to (`chunk_length` · `sampling_rate`).
    public var nSamples: Int

    /// An extractor with explicit settings (defaults: the published checkpoint's, 300 s window).
    public init(featureSize: Int = 128, samplingRate: Int = 16000, hopLength: Int = 160, nFFT: Int = 400,
                nSamples: Int = 4_800_000) {
        self.featureSize = featureSize
        self.samplingRate = samplingRate
        self.hopLength = hopLength
        self.nFFT = nFFT
        self.nSamples = nSamples
    }

    /// Reads `processor_config.json` (its `feature_extractor` object, transformers ≥ 5) or
    /// `preprocessor_config.json` (flat, as the published checkpoint has it) from a model folder.
    public init(directory: URL) throws {
        guard let c = try ProcessorConfigFile.section("feature_extractor", in: directory) else {
            throw OmniError.io(path: directory.path, reason: "no processor_config.json with a feature_extractor, and no preprocessor_config.json")
        }
        let rate = try c.positiveInt("sampling_rate") ?? 16000
        let chunk = try c.positiveInt("chunk_length") ?? 30
        self.init(featureSize: try c.positiveInt("feature_size") ?? 128, samplingRate: rate,
                  hopLength: try c.positiveInt("hop_length") ?? 160, nFFT: try c.positiveInt("n_fft") ?? 400,
                  nSamples: try c.positiveInt("n_samples") ?? chunk * rate)
    }

    /// The extractor a model folder configures, or nil when it has no feature-extractor settings (malformed ones throw).
    public static func ifConfigured(directory: URL) throws -> WhisperFeatureExtractor? {
        try ProcessorConfigFile.section("feature_extractor", in: directory) == nil ? nil : WhisperFeatureExtractor(directory: directory)
    }

    /// Feature frames per waveform (nSamples / hop).
    public var frames: Int { nSamples / hopLength }

    /// Valid feature frames of a waveform of `samples` samples: ceil(min(samples, nSamples) / hop).
    public func validFrames(samples: Int) -> Int { (min(samples, nSamples) + hopLength - 1) / hopLength }

    /// `input_features` [B, featureSize, frames] and `feature_attention_mask` [B, frames] for the waveforms.
    ///
    /// With an `executor`, the framed STFT and the mel projection run as a graph (two matrix products, BLAS on
    /// the CPU) in blocks of `stftBlock` frames; without one, frame by frame through a Float64 FFT (the oracle
    /// the tests hold the graph to).
    public func callAsFunction(_ waveforms: [[Float]], executor: (any GraphExecutor)? = nil) throws -> (features: Tensor, mask: Tensor) {
        guard !waveforms.isEmpty else { throw OmniError.invalidArgument(name: "audio", expected: "at least one waveform", actual: "none") }
        let f = frames, m = featureSize
        var features = [Float](repeating: 0, count: waveforms.count * m * f)
        var mask = [Int64](repeating: 0, count: waveforms.count * f)
        let filters = melFilters()
        for (b, w) in waveforms.enumerated() {
            guard !w.isEmpty else { throw OmniError.invalidArgument(name: "audio[\(b)]", expected: "at least one sample", actual: "empty") }
            guard w.allSatisfy({ $0.isFinite }) else {
                throw OmniError.invalidArgument(name: "audio[\(b)]", expected: "finite samples", actual: "NaN or infinity")
            }
            let logMel = try logMelSpectrogram(w, filters: filters, executor: executor)
            features.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(m * f) { dst[b * m * f + i] = logMel[i] }
            }
            for t in 0..<validFrames(samples: w.count) { mask[b * f + t] = 1 }
        }
        return (Tensor(features, shape: [waveforms.count, m, f]), Tensor(int64: mask, shape: [waveforms.count, f]))
    }

    /// Frames per STFT graph run (the last block is zero-padded, so every run has the same shapes).
    static let stftBlock = 1024

    /// [featureSize × frames] features of one waveform, row-major by mel bin.
    func logMelSpectrogram(_ x: [Float], filters: [Float], executor: (any GraphExecutor)?) throws -> [Float] {
        let n = nSamples, hop = hopLength, half = nFFT / 2, m = featureSize, f = frames
        let length = min(x.count, n)
        // Padded signal sample j (j in −half ..< n + half): zero-padded to n, reflect-padded by half at both ends.
        func sample(_ j: Int) -> Float {
            var k = j
            if k < 0 { k = -k } else if k >= n { k = 2 * n - 2 - k }
            return k < length && k >= 0 ? x[k] : 0
        }
        // Frame t covers padded samples [t·hop − half, t·hop + half); it can hold signal if it reaches a nonzero
        // sample or its reflection at either end. The others are all zeros: log10(1e-10) after the floor of 1e-10.
        let live = (0..<f).filter { t in t * hop - half < length || t * hop + half > 2 * n - 1 - length }
        let window = (0..<nFFT).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(nFFT))) }
        var windowed = [Float](repeating: 0, count: live.count * nFFT)
        for (r, t) in live.enumerated() {
            for i in 0..<nFFT { windowed[r * nFFT + i] = sample(t * hop - half + i) * window[i] }
        }
        let mel = try executor.map { try melPowerGraph(windowed, count: live.count, filters: filters, executor: $0) }
            ?? melPowerFFT(windowed, count: live.count, filters: filters)
        let silent = Float(log10(1e-10))
        var out = [Float](repeating: silent, count: m * f)
        var maxLog: Float = live.count < f ? silent : -.infinity
        for (r, t) in live.enumerated() {
            for b in 0..<m {
                let v = log10(max(mel[r * m + b], 1e-10))
                out[b * f + t] = v
                maxLog = max(maxLog, v)
            }
        }
        let floor = maxLog - 8
        for i in 0..<out.count { out[i] = (max(out[i], floor) + 4) / 4 }
        return out
    }

    /// Mel power [count × featureSize] of windowed frames, one Float64 FFT per frame.
    func melPowerFFT(_ windowed: [Float], count: Int, filters: [Float]) -> [Float] {
        let bins = nFFT / 2 + 1, m = featureSize
        let fft = RealFFT(length: nFFT)
        var frame = [Double](repeating: 0, count: nFFT), power = [Double](repeating: 0, count: bins)
        var out = [Float](repeating: 0, count: count * m)
        for r in 0..<count {
            for i in 0..<nFFT { frame[i] = Double(windowed[r * nFFT + i]) }
            frame.withUnsafeBufferPointer { fp in power.withUnsafeMutableBufferPointer { fft.power(fp.baseAddress!, into: $0.baseAddress!) } }
            for b in 0..<m {
                var s: Float = 0
                for k in 0..<bins { s += filters[b * bins + k] * Float(power[k]) }
                out[r * m + b] = s
            }
        }
        return out
    }

    /// Input names of the STFT graph.
    static let framesInput = "whisper.frames", dftInput = "whisper.dft", melInput = "whisper.mel_filters"

    /// Mel power [count × featureSize] of windowed frames as a graph: spectrum = frames · [cos; sin]ᵀ
    /// (the real and imaginary parts of the one-sided DFT), power = spectrum², mel = power · [filters, filters]ᵀ
    /// (so each bin's re² and im² both get its filter weight).
    func melPowerGraph(_ windowed: [Float], count: Int, filters: [Float], executor: any GraphExecutor) throws -> [Float] {
        let bins = nFFT / 2 + 1, m = featureSize, block = Self.stftBlock
        var g = Graph()
        let frames = g.input(Self.framesInput, shape: [block, nFFT])
        let dft = g.input(Self.dftInput, shape: [2 * bins, nFFT])
        let melBank = g.input(Self.melInput, shape: [m, 2 * bins])
        let spectrum = g.linear(frames, dft, name: "whisper.spectrum")
        let power = g.mul(spectrum, spectrum, name: "whisper.power")
        g.markOutput(g.linear(power, melBank, name: "whisper.mel"))
        var basis = [Float](repeating: 0, count: 2 * bins * nFFT)
        for k in 0..<bins {
            for j in 0..<nFFT {
                let a = 2 * Double.pi * Double((j * k) % nFFT) / Double(nFFT)
                basis[k * nFFT + j] = Float(cos(a))
                basis[(bins + k) * nFFT + j] = Float(sin(a))
            }
        }
        var bank = [Float](repeating: 0, count: m * 2 * bins)
        for b in 0..<m {
            for k in 0..<bins { bank[b * 2 * bins + k] = filters[b * bins + k]; bank[b * 2 * bins + bins + k] = filters[b * bins + k] }
        }
        let constants = [Self.dftInput: Tensor(basis, shape: [2 * bins, nFFT]), Self.melInput: Tensor(bank, shape: [m, 2 * bins])]
        var out = [Float](repeating: 0, count: count * m)
        var start = 0
        while start < count {
            let rows = min(block, count - start)
            var chunk = [Float](repeating: 0, count: block * nFFT)
            for i in 0..<(rows * nFFT) { chunk[i] = windowed[start * nFFT + i] }
            var inputs = constants
            inputs[Self.framesInput] = Tensor(chunk, shape: [block, nFFT])
            let r = try executor.run(g, bucket: nil, inputs: inputs, weights: InMemoryWeights([:]), cache: nil, keep: [])
            guard let mel = r["whisper.mel"] else {
                throw OmniError.unsupported(what: "Whisper STFT", reasons: ["graph produced no whisper.mel"])
            }
            let v = try mel.floats()
            for i in 0..<(rows * m) { out[start * m + i] = v[i] }
            start += rows
        }
        return out
    }

    /// The Slaney-scale, Slaney-normalized mel filter bank [featureSize × (nFFT/2 + 1)] from 0 to sr/2, built in
    /// Float64 and rounded to Float32 (`audio_utils.mel_filter_bank`).
    func melFilters() -> [Float] {
        let bins = nFFT / 2 + 1, m = featureSize
        let fmax = Double(samplingRate) / 2
        func hzToMel(_ f: Double) -> Double { f < 1000 ? 3 * f / 200 : 15 + log(f / 1000) * 27 / log(6.4) }
        func melToHz(_ mel: Double) -> Double { mel < 15 ? 200 * mel / 3 : 1000 * exp(log(6.4) / 27 * (mel - 15)) }
        let mMax = hzToMel(fmax)
        let filterFreqs = (0..<(m + 2)).map { melToHz(mMax * Double($0) / Double(m + 1)) }
        let fftFreqs = (0..<bins).map { fmax * Double($0) / Double(bins - 1) }
        var out = [Float](repeating: 0, count: m * bins)
        for i in 0..<m {
            let f0 = filterFreqs[i], f1 = filterFreqs[i + 1], f2 = filterFreqs[i + 2]
            let norm = 2 / (f2 - f0)
            for k in 0..<bins {
                let down = (fftFreqs[k] - f0) / (f1 - f0), up = (f2 - fftFreqs[k]) / (f2 - f1)
                out[i * bins + k] = Float(max(0, min(down, up)) * norm)
            }
        }
        return out
    }
}
