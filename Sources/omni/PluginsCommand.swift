import ArgumentParser
import DTypeStandard
import OmniCore

/// `omni plugins`: every registered plugin and what it supports.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plugins",
                                                    abstract: "List every registered plugin and what it supports.")

    func run() throws {
        let r = Composition.registry()
        print("CPU kernel path: \(StandardConverter.cpuPath)")
        print("\nweight formats:")
        for f in r.weightFormats {
            let c = f.capabilities
            let rw = [c.canRead ? "read" : nil, c.canWrite ? "write" : nil].compactMap { $0 }.joined(separator: "+")
            print("  \(f.name)  [\(rw)]  dtypes: \(c.dtypes.map(\.rawValue).sorted().joined(separator: ","))"
                  + "  files: \(c.fileExtensions.joined(separator: ","))")
        }
        print("\ndtype converters:")
        for c in r.converters {
            print("  \(c.name)  \(c.conversions.map(\.description).sorted().joined(separator: " "))")
        }
        print("\nattention backends:")
        for b in r.attentionBackends {
            let c = b.capabilities
            print("  \(b.name)  dtypes: \(c.dtypes.map(\.rawValue).sorted().joined(separator: ","))"
                  + "  masks: \(c.maskKinds.map(\.rawValue).sorted().joined(separator: ","))"
                  + "  gqa: \(c.groupedQuery)  max head dim: \(c.maxHeadDim)")
        }
        print("\nplacement strategies:")
        for s in r.placementStrategies { print("  \(s.name)") }
        print("\ncompute devices:")
        for d in r.computeDevices {
            switch d.probe() {
            case let .available(devices):
                print("  \(d.deviceKind)  available: " + devices.map(\.description).joined(separator: "; "))
            case let .unavailable(reason):
                print("  \(d.deviceKind)  unavailable: \(reason)")
            }
        }
        print("\nmedia decoders (first match decodes):")
        for d in r.mediaDecoders {
            let c = d.capabilities
            print("  \(d.name)  kinds: \(c.kinds.map(\.rawValue).sorted().joined(separator: ","))"
                  + "  formats: \(c.formats.joined(separator: ","))  resamples: \(c.resamples)  seeks: \(c.seeks)")
        }
    }
}
