import FuzzSupport
import VGPUCore

/// The host config file (/etc/vgpuctl/vgpuctl.conf): `HostConfig.parse`, what `Environment.placementConfig`
/// calls with the file's text (TOMLDocument's TOMLParser, then validation), from the raw bytes as a file holds them.
/// Every refusal must name the file and the line ("FILE:LINE: ...") and give a fix; a parsed config must hold what
/// placement relies on.
@main enum FuzzConfig {
    static let file = "/etc/vgpuctl/vgpuctl.conf"

    static func main() {
        runFuzzer { bytes in
            let config: PlacementConfig
            do { config = try HostConfig.parse(bytes: bytes, file: file) } catch {
                expectClearRefusal(error, prefix: file + ":")
                return
            }
            // Exactly one group takes every GPU no group names; a GPU is in one group at most.
            guard config.groups.filter({ $0.gpus.isEmpty }).count == 1 else { finding("not one default group: \(config.groups)") }
            let listed = config.groups.flatMap(\.gpus)
            guard Set(listed).count == listed.count else { finding("a GPU in two groups: \(config.groups)") }
            for (gpu, rule) in config.rules {
                if let count = rule.sriovNumVFs, !(1...65535).contains(count) { finding("sriov_numvfs \(count) for \(gpu)") }
            }
            if let interval = config.daemon.reconcileInterval, !(10...86_400).contains(interval) { finding("reconcile_interval \(interval)") }
            if let selected = config.selectedLayout, config.layouts[selected] == nil { finding("layout \(selected) selected, not declared") }
            for (name, layout) in config.layouts {
                if layout.entries.isEmpty { finding("layout \(name) has no entries") }
                for entry in layout.entries where entry.vgpus.isEmpty || entry.vgpus.contains(where: { !(1...65535).contains($0.count) })
                    || !entry.origin.hasPrefix(file + ":") {
                    finding("layout \(name): \(entry)")
                }
            }
        }
    }
}
