import OmniCore

extension LoadPlan {
    /// The plan as `omni plan` prints it: per component the units, devices and weight bytes; the KV cache and
    /// activation estimates with their formulas; totals per device against the budgets.
    public var report: String {
        var lines: [String] = []
        if let d = directory {
            lines.append("model: \(d.id)" + (d.revision.map { " @ \($0)" } ?? "") + "  (\(d.url.path))")
        }
        let stored = config.dtype?.rawValue ?? "not stated"
        let policy = ([dtypePolicy.all?.rawValue ?? "auto"] + dtypePolicy.perComponent.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key)=\($0.value)" }).joined(separator: ",")
        lines.append("dtype: \(policy) (checkpoint: \(stored)); token2wav runs in f32")
        lines.append("audio output: \(audioOutput ? "on" : "off (talker and token2wav not loaded)")")
        let left = Component.allCases.filter { c in !units.contains { $0.component == c } }.map(\.rawValue)
        if !left.isEmpty {
            lines.append("not loaded: \(left.joined(separator: ", ")) (\(skippedTensors.count) tensors)")
        }
        let given = maxMemory.isEmpty ? "none (cpu unbounded)"
            : maxMemory.sorted { $0.key < $1.key }.map { "\($0.key)=\(ByteCount($0.value))" }.joined(separator: ", ")
        lines.append("device map: \(strategyName)" + (computeDevice.map { " (weights read on the host, then uploaded to \($0), which runs every graph)" } ?? "")
            + "; max memory: \(given)")
        lines.append("")
        lines.append(Self.row("component", "units", "device(s)", "weights", "stored"))
        for c in Component.allCases {
            let us = units.filter { $0.component == c }
            guard !us.isEmpty else { continue }
            var perDevice: [DeviceID: Int] = [:]
            for u in us { perDevice[placement.device(for: u.unit.prefix) ?? .cpu, default: 0] += 1 }
            let where_ = perDevice.sorted { $0.key < $1.key }
                .map { perDevice.count == 1 ? "\($0.key)" : "\($0.key) (\($0.value))" }.joined(separator: ", ")
            lines.append(Self.row(c.rawValue, "\(us.count)", where_, "\(ByteCount(us.reduce(0) { $0 + $1.unit.bytes }))",
                                  "\(ByteCount(us.reduce(0) { $0 + $1.storedBytes }))"))
        }
        let e = estimates
        lines.append("")
        lines.append("estimates for a prompt of \(e.input.promptTokens) tokens (text \(e.input.textTokens), audio "
            + "\(e.input.audioTokens), images \(e.input.imageTokens), video \(e.input.videoTokens)) "
            + "+ \(e.input.maxNewTokens) new tokens" + (e.input.sessions > 1 ? ", \(e.input.sessions) sessions" : "") + (audioOutput ? " + \(e.input.talkerCodes) talker codes" : "") + ":")
        lines.append("  KV cache: thinker \(ByteCount(e.thinkerKVCache))"
            + (audioOutput ? ", talker \(ByteCount(e.talkerKVCache))" : ""))
        if let g = computeDevice {
            lines.append("  chunks: \(e.thinker.chunks)" + (maxMemory[g] == nil ? " (no \(g) budget: whole unless given)"
                : " (the largest that fit the \(g) budget left after weights and KV cache, unless given)"))
        } else {
            lines.append("  chunks: \(e.thinker.chunks)" + (maxMemory[.cpu] == nil ? " (no cpu budget: whole unless given)"
                : " (the largest that fit the cpu budget left after weights, KV cache and prompt rows, unless given)"))
        }
        for p in e.thinker.phases {
            let m = p.memory
            lines.append("  activations, \(p.name): \(ByteCount(m.total)) (arena \(ByteCount(m.arena)) + attention scratch "
                + "\(ByteCount(m.attentionScratch)) + weight panels \(ByteCount(m.panels.reduce(0, +)))"
                + (m.staging > 0 ? " + device staging \(ByteCount(m.staging))" : "") + ")")
        }
        for (name, bytes) in e.phases.dropFirst(e.thinker.phases.count) { lines.append("  activations, \(name): \(ByteCount(bytes))") }
        let u = e.thinker.union
        lines.append("  activations at peak: \(ByteCount(e.activations)) (thinker side: largest arena \(ByteCount(u.arena)) + "
            + "largest attention scratch \(ByteCount(u.attentionScratch)) + panels \(ByteCount(u.panels.reduce(0, +)))"
            + (u.staging > 0 ? " + device staging \(ByteCount(u.staging))" : "") + ")")
        if e.promptRows > 0 { lines.append("  prompt embeddings: \(ByteCount(e.promptRows))") }
        lines.append("  (estimates, not measurements:)")
        for f in e.formulas { lines.append("    \(f)") }
        lines.append("")
        lines.append("totals per device:")
        for d in devices {
            let w = weightBytes(on: d)
            if d == computeDevice, let peak = computePeak {
                lines.append("  \(d) (runs every graph): weights \(ByteCount(residentWeightBytes(on: d))) (all, uploaded once) + KV cache "
                    + "\(ByteCount(e.kvCache)) + activations \(ByteCount(e.activations)) = \(ByteCount(peak))"
                    + (maxMemory[d].map { " of \(ByteCount($0))" } ?? ""))
            } else if d == .cpu, computeDevice != nil {
                lines.append("  cpu: weights placed on the host (read there, then uploaded) \(ByteCount(w))"
                    + (e.promptRows > 0 ? " + prompt embeddings \(ByteCount(e.promptRows))" : "")
                    + " + disk paging reserve \(ByteCount(pagingReserve)) = \(ByteCount(cpuPeak))"
                    + (maxMemory[.cpu].map { " of \(ByteCount($0))" } ?? ""))
            } else if d == .cpu {
                lines.append("  cpu: weights \(ByteCount(w)) + KV cache \(ByteCount(e.kvCache)) + activations "
                    + "\(ByteCount(e.activations))" + (e.promptRows > 0 ? " + prompt embeddings \(ByteCount(e.promptRows))" : "")
                    + " + disk paging reserve \(ByteCount(pagingReserve)) = "
                    + "\(ByteCount(cpuPeak))" + (maxMemory[.cpu].map { " of \(ByteCount($0))" } ?? ""))
            } else if d == .disk {
                lines.append("  disk: weights \(ByteCount(w)) left in the mmap'd files, paged in per unit"
                    + (maxMemory[.disk].map { " (budget \(ByteCount($0)))" } ?? ""))
            } else {
                lines.append("  \(d): weights \(ByteCount(w))" + (maxMemory[d].map { " of \(ByteCount($0))" } ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// One table row with fixed column widths.
    static func row(_ a: String, _ b: String, _ c: String, _ d: String, _ e: String) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        return "  " + pad(a, 14) + pad(b, 7) + pad(c, 22) + pad(d, 13) + e
    }
}
