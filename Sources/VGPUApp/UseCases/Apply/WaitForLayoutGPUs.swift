#if canImport(Glibc)
import Glibc
#endif
import VGPUCore
import VGPUHost

/// Waits up to `seconds` (a deadline) for every GPU a layout names one by one to exist as a vGPU parent (a driver
/// still loading, VFs still being enabled), saying what it waits for; looks with `GPUPresence`, a few lookups per
/// GPU, so a host that already has them pays almost nothing. 0: no wait (the planner then refuses a missing GPU).
/// No lock: it only reads.
public struct WaitForLayoutGPUs: ReadUseCase {
    public var layout: DeclaredLayout
    public var seconds: Double
    public var poll: Double
    public var say: ((String) -> Void)?

    public init(_ layout: DeclaredLayout, seconds: Double, poll: Double = 0.2, say: ((String) -> Void)? = nil) {
        self.layout = layout
        self.seconds = seconds
        self.poll = poll
        self.say = say
    }

    public func read(in environment: Environment) throws {
        let presence = GPUPresence(paths: environment.paths, os: environment.os)
        var missing = presence.missing(layout.namedGPUs)
        guard !missing.isEmpty, seconds > 0 else { return }
        let start = monotonicNow()
        say?("waiting up to \(Self.seconds(seconds)) s for GPU(s) \(missing.joined(separator: ", ")) to appear as vGPU parents")
        while true {
            usleep(UInt32(poll * 1_000_000))
            missing = presence.missing(missing)
            if missing.isEmpty {
                say?("the GPU(s) appeared after \(Self.seconds(monotonicNow() - start)) s")
                return
            }
            if monotonicNow() - start >= seconds { break }
        }
        throw VGPUError(.notFound, "after \(Self.seconds(seconds)) s, GPU(s) \(missing.joined(separator: ", ")) of layout '\(layout.name)' are still not vGPU parents (no \(environment.paths.mdevBus)/ID, and no SR-IOV VF of it hosting vGPU types)",
                        fix: "load the GPU's vGPU driver or enable its VFs (sriov_numvfs), check the id with 'vgpuctl types', or wait longer (--gpu-wait SECONDS)")
    }

    /// Seconds as the messages show them: whole, else one decimal.
    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(Double(Int(value * 10)) / 10)
    }
}
