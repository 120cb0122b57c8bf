import FuzzSupport
import VGPUCore

/// The host config file (/etc/vgpuctl/vgpuctl.conf): `HostConfig.parse`, what `HostContext.placementConfig`
/// calls with the file's text (TOMLSubset, then validation). Every refusal must name the file and the line
/// ("FILE:LINE: ...") and give a fix; a parsed config must hold what placement relies on.
@main enum FuzzConfig {
    static let file = "/etc/vgpuctl/vgpuctl.conf"

    static func main() {
        runFuzzer { bytes in
            let config: PlacementConfig
            do { config = try HostConfig.parse(text(bytes), file: file) } catch {
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
        }
    }
}
